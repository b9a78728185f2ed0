/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fsrc_bpf.h - loader of the modern_ebpf source (bpfload.c); its ring
 * buffers are read by the merge of ring.c (bpfring.c)
 */
#ifndef FSRC_BPF_H
#define FSRC_BPF_H

#include <stdint.h>

#include "fprobe_bpf.h"
#include "fsrc.h"

struct fsrc_bpf;

int fsrc_bpf_probe_ringbuf(void);
int fsrc_bpf_possible_cpus(void);
struct fsrc_bpf *fsrc_bpf_open(const char *path, int cpus_per_ring,
			       uint64_t ring_bytes, const char *log_path,
			       int *err, char *stage, int stagelen);
void fsrc_bpf_close(struct fsrc_bpf *b);
int fsrc_bpf_attach(struct fsrc_bpf *b, int tp);
int fsrc_bpf_detach(struct fsrc_bpf *b, int tp);
int fsrc_bpf_has_hook(int tp);
struct fbpf_config *fsrc_bpf_config(struct fsrc_bpf *b);
const struct fbpf_counters *fsrc_bpf_counters(struct fsrc_bpf *b);
int fsrc_bpf_ncpus(struct fsrc_bpf *b);
int fsrc_bpf_nrings(struct fsrc_bpf *b);
int fsrc_bpf_ring_fd(struct fsrc_bpf *b, int i);
int fsrc_bpf_set_prefilter(struct fsrc_bpf *b, const void *prog, uint32_t size);
int fsrc_bpf_attach_rings(struct fsrc_bpf *b, struct fsrc_devset *ds,
			  uint64_t *percpu);

#endif /* FSRC_BPF_H */
