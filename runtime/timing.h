/* Phase timestamps for profiling (NSRUN_DEBUG_TIMINGS=1 prints them to
 * stderr at exit; =2 adds one line per mount step of the root, which
 * costs a write each and so stretches the root's build). A no-op
 * otherwise: one branch per mark. */
#ifndef NSRUN_TIMING_H
#define NSRUN_TIMING_H

void timing_init(void);
void timing_mark(const char *label);
void timing_now(const char *label);
void timing_detail(const char *label);
void timing_dump(void);

#endif
