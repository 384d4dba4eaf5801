#include "timing.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_MARKS 32

static bool enabled;
static struct {
	const char *label;
	struct timespec at;
} marks[MAX_MARKS];
static int n_marks;

void timing_init(void)
{
	const char *v = getenv("NSRUN_DEBUG_TIMINGS");

	enabled = v && *v && *v != '0';
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

void timing_dump(void)
{
	for (int i = 1; i < n_marks; i++) {
		long us = (marks[i].at.tv_sec - marks[i - 1].at.tv_sec) * 1000000L +
			  (marks[i].at.tv_nsec - marks[i - 1].at.tv_nsec) / 1000;

		fprintf(stderr, "nsrun: timing: %-22s +%6ld us\n", marks[i].label, us);
	}
}
