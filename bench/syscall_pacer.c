// SPDX-License-Identifier: Apache-2.0
/*
 * syscall_pacer.c - system calls at a given rate, for the modern_ebpf
 * zero-drop benchmark (bench/bpf_overhead.py): open+close pairs of one file
 * (RATE counts both calls) or getppid, spread over each millisecond, for
 * SECONDS.  Prints the number of system calls made and the seconds taken.
 *   syscall_pacer open|getppid RATE SECONDS [path]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *path = argc > 4 ? argv[4] : "/tmp/fprobe-pacer-file";
	double rate, secs, t0, t;
	long done = 0, due;
	int open_mode, fd;

	if (argc < 4) {
		fprintf(stderr, "usage: %s open|getppid RATE SECONDS [path]\n",
			argv[0]);
		return 2;
	}
	open_mode = !strcmp(argv[1], "open");
	rate = atof(argv[2]);
	secs = atof(argv[3]);
	if (open_mode) {
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	t0 = now();
	while ((t = now()) - t0 < secs) {
		due = (long)((t - t0) * rate);
		while (done < due) {
			if (open_mode) {
				fd = open(path, O_RDONLY);
				if (fd >= 0)
					close(fd);
				done += 2;
			} else {
				syscall(SYS_getppid);
				done += 1;
			}
		}
		if (done >= due) {
			struct timespec pause = { 0, 200000 };

			nanosleep(&pause, NULL);
		}
	}
	printf("%ld %.6f\n", done, now() - t0);
	return 0;
}
