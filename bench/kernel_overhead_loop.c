// SPDX-License-Identifier: Apache-2.0
/*
 * kernel_overhead_loop.c - the syscall-heavy workload of the kernel
 * overhead benchmark: N open+close of one file, or N getppid.
 *   kernel_overhead_loop open|getppid N [path]
 * Prints the elapsed wall time in seconds.
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
	const char *path = argc > 3 ? argv[3] : "/tmp/fprobe-bench-file";
	long n, i;
	double t0;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: %s open|getppid N [path]\n", argv[0]);
		return 2;
	}
	n = atol(argv[2]);
	if (!strcmp(argv[1], "open")) {
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		close(fd);
		t0 = now();
		for (i = 0; i < n; i++) {
			fd = open(path, O_RDONLY);
			if (fd < 0) {
				perror(path);
				return 1;
			}
			close(fd);
		}
	} else {
		t0 = now();
		for (i = 0; i < n; i++)
			syscall(SYS_getppid);
	}
	printf("%.6f\n", now() - t0);
	return 0;
}
