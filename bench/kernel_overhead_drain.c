// SPDX-License-Identifier: Apache-2.0
/*
 * kernel_overhead_drain.c - a minimal falco_probe consumer for the kernel
 * overhead benchmark: opens every /dev/falco<N>, enables the given native
 * syscall numbers and the sys_enter/sys_exit/sched tracepoints, then walks
 * and releases every event (headers checked, payload not decoded) until
 * SIGINT/SIGTERM.  Prints "ready" once capturing, and the event, byte and
 * drop counts at the end.  With -p FILE, the prefilter program in FILE is
 * installed on every device first.
 *   kernel_overhead_drain [-p FILE] NR [NR...]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "../driver/uapi/fprobe_abi.h"

#define MAX_CPUS 256

struct ring {
	int fd;
	struct fprobe_ring_info *info;
	const char *data;
	__u64 size;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int ioctl_u32(int fd, unsigned long req, __u32 v)
{
	return ioctl(fd, req, &v);
}

/* The prefilter program of @path, in *@buf (malloc'd); its size or -1. */
static long read_program(const char *path, char **buf)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	*buf = malloc(FPROBE_PF_MAX_SIZE);
	n = *buf ? (long)fread(*buf, 1, FPROBE_PF_MAX_SIZE, f) : -1;
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	static const __u32 tps[] = { FPROBE_TP_SYS_ENTER, FPROBE_TP_SYS_EXIT,
				     FPROBE_TP_SCHED_PROC_EXIT,
				     FPROBE_TP_SCHED_PROC_EXEC };
	struct ring rings[MAX_CPUS];
	unsigned long long evts = 0, bytes = 0;
	struct fprobe_stats2 st;
	unsigned long long drops = 0, seen = 0, filtered = 0;
	struct fprobe_pf_load load;
	char path[64], *prog = NULL;
	int n = 0, cpu, i, a, first = 1;
	long page = sysconf(_SC_PAGESIZE), size = 0;

	if (argc > 2 && !strcmp(argv[1], "-p")) {
		size = read_program(argv[2], &prog);
		if (size <= 0) {
			perror(argv[2]);
			return 1;
		}
		first = 3;
	}

	for (cpu = 0; cpu < MAX_CPUS; cpu++) {
		struct ring *r = &rings[n];

		snprintf(path, sizeof(path), FPROBE_DEVICE_PREFIX "%d", cpu);
		r->fd = open(path, O_RDWR | O_CLOEXEC);
		if (r->fd < 0) {
			if (errno == ENOENT)
				break;
			perror(path);
			return 1;
		}
		r->info = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED,
			       r->fd, FPROBE_MMAP_OFF_INFO);
		if (r->info == MAP_FAILED) {
			perror("mmap info");
			return 1;
		}
		r->size = r->info->buffer_size;
		r->data = mmap(NULL, 2 * r->size, PROT_READ, MAP_SHARED, r->fd,
			       FPROBE_MMAP_OFF_DATA);
		if (r->data == MAP_FAILED) {
			perror("mmap data");
			return 1;
		}
		for (a = first; a < argc; a++)
			if (ioctl_u32(r->fd, FPROBE_IOCTL_ENABLE_SYSCALL, atoi(argv[a]))) {
				perror("ENABLE_SYSCALL");
				return 1;
			}
		if (prog) {
			memset(&load, 0, sizeof(load));
			load.prog = (__u64)(unsigned long)prog;
			load.size = (__u32)size;
			if (ioctl(r->fd, FPROBE_IOCTL_SET_PREFILTER, &load)) {
				perror("SET_PREFILTER");
				return 1;
			}
		}
		n++;
	}
	for (i = 0; i < n; i++)
		for (a = 0; a < (int)(sizeof(tps) / sizeof(tps[0])); a++)
			if (ioctl_u32(rings[i].fd, FPROBE_IOCTL_ENABLE_TP, tps[a])) {
				perror("ENABLE_TP");
				return 1;
			}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("ready %d\n", n);
	fflush(stdout);

	while (!stop) {
		int busy = 0;

		for (i = 0; i < n; i++) {
			struct ring *r = &rings[i];
			__u64 head = __atomic_load_n(&r->info->head, __ATOMIC_ACQUIRE);
			__u64 tail = r->info->tail;

			while (tail < head) {
				const struct fprobe_evt_hdr *h = (const void *)
					(r->data + (tail & (r->size - 1)));

				if (h->len < FPROBE_EVT_HDR_SIZE || h->len > head - tail) {
					fprintf(stderr, "corrupt event on cpu %d\n", i);
					return 1;
				}
				tail += h->len;
				bytes += h->len;
				evts++;
			}
			if (tail != r->info->tail) {
				__atomic_store_n(&r->info->tail, tail, __ATOMIC_RELEASE);
				busy = 1;
			}
		}
		if (!busy)
			usleep(1000);
	}
	for (i = 0; i < n; i++) {
		if (ioctl(rings[i].fd, FPROBE_IOCTL_GET_STATS2, &st) == 0) {
			seen += st.n_evts;
			filtered += st.n_filtered;
			drops += st.n_drops_buffer + st.n_drops_pf + st.n_preemptions;
		}
	}
	printf("events %llu bytes %llu seen %llu filtered %llu drops %llu\n",
	       evts, bytes, seen, filtered, drops);
	return 0;
}
