#include "timing.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_MARKS 32

static bool enabled, detailed;
static struct {
	const char *label;
	struct timespec at;
} marks[MAX_MARKS];
static int n_marks;

void timing_init(void)
{
	const char *v = getenv("NSRUN_DEBUG_TIMINGS");

	enabled = v && *v && *v != '0';
	detailed = enabled && *v >= '2';
	timing_mark("start");
}

void timing_mark(const char *label)
{
	if (!enabled || n_marks >= MAX_MARKS)
		return;
	marks[n_marks].label = label;
	clock_gettime(CLOCK_MONOTONIC, &marks[n_marks].at);
	n_marks++;
}

static long us_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000L + (b->tv_nsec - a->tv_nsec) / 1000;
}

/* For the sandbox's own processes, which never return to timing_dump: the
 * start mark was inherited across clone, so the offsets line up with the
 * supervisor's. */
void timing_now(const char *label)
{
	struct timespec now;

	if (!enabled || n_marks == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "nsrun: timing: %-22s  at %6ld us (sandbox)\n", label,
		us_between(&marks[0].at, &now));
}

void timing_dump(void)
{
	for (int i = 1; i < n_marks; i++)
		fprintf(stderr, "nsrun: timing: %-22s +%6ld us  at %6ld us\n", marks[i].label,
			us_between(&marks[i - 1].at, &marks[i].at),
			us_between(&marks[0].at, &marks[i].at));
}

void timing_detail(const char *label)
{
	if (detailed)
		timing_now(label);
}
