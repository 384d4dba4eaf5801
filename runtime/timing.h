/* Phase timestamps for profiling (NSRUN_DEBUG_TIMINGS=1 prints them to
 * stderr at exit). A no-op otherwise: one branch per mark. */
#ifndef NSRUN_TIMING_H
#define NSRUN_TIMING_H

void timing_init(void);
void timing_mark(const char *label);
void timing_now(const char *label);
void timing_dump(void);

#endif
