/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fill_net.h - fillers of the socket syscalls (the same parameters as
 * driver/fill_net.c)
 *
 * Socket tuples put the initiator first: for connect and the send family
 * source = local end, destination = peer; for accept and the receive
 * family source = peer, destination = local end.  Ports in host byte
 * order, addresses in network byte order.
 */
#ifndef _FBPF_FILL_NET_H
#define _FBPF_FILL_NET_H

#include "fill_file.h"

/* Largest sockaddr decoded (sizeof(struct sockaddr_storage)). */
#define FBPF_SOCKADDR_MAX 128
/* iovecs walked in a msghdr */
#define FBPF_IOV_MAX 64

struct fbpf_iovec {
	__u64 base;
	__u64 len;
};

struct fbpf_msghdr {
	__u64 name;
	__s32 namelen;
	__s32 pad;
	__u64 iov;
	__u64 iovlen;
	__u64 control;
	__u64 controllen;
	__u32 flags;
};

static __always_inline __u8 fbpf_family(int family)
{
	/* PPM_AF_* share the kernel's numbering. */
	return family >= 0 && family < 46 ? family : PPM_AF_UNSPEC;
}

static __always_inline __u16 fbpf_ntohs(__u16 v)
{
	return (v >> 8) | (v << 8);
}

/*
 * NUL-terminated length (NUL included) of the @max bytes at st->tmp[@off]
 * (@off < FBPF_TMP_SIZE, @max <= 256), as strnlen() + 1.
 */
static __always_inline __u32 fbpf_tmp_strlen(struct fbpf_state *st, __u32 off,
					     __u32 max)
{
	long n = bpf_probe_read_kernel_str(&st->tmp[FBPF_TMP_SIZE],
					   FBPF_MASK(max, 0xff) + 1,
					   &st->tmp[FBPF_MASK(off, FBPF_TMP_MASK)]);

	return n < 1 ? 1 : n;
}

/*
 * Encode a sockaddr held in st->tmp[0..len) as PT_SOCKADDR at the next
 * parameter; returns the encoded length (0: nothing usable).
 */
static __always_inline __u32 fbpf_encode_sockaddr(struct fbpf_state *st,
						  int len)
{
	__u8 *dst = fbpf_dst(st);
	__u16 fam, port;
	__u32 n, plen;

	if (len < 2 || fbpf_room(st) < 2 + K_UNIX_PATH_MAX + 1)
		return 0;
	fam = *(__u16 *)&st->tmp[0];
	switch (fam) {
	case K_AF_INET:
		if (len < 16)
			return 0;
		dst[0] = PPM_AF_INET;
		*(__u32 *)&dst[1] = *(__u32 *)&st->tmp[4];
		port = fbpf_ntohs(*(__u16 *)&st->tmp[2]);
		*(__u16 *)&dst[5] = port;
		return 7;
	case K_AF_INET6:
		if (len < 28)
			return 0;
		dst[0] = PPM_AF_INET6;
		__builtin_memcpy(&dst[1], &st->tmp[8], 16);
		port = fbpf_ntohs(*(__u16 *)&st->tmp[2]);
		*(__u16 *)&dst[17] = port;
		return 19;
	case K_AF_UNIX:
		plen = len > 2 ? len - 2 : 0;
		if (plen > K_UNIX_PATH_MAX)
			plen = K_UNIX_PATH_MAX;
		st->tmp[2 + FBPF_MASK(plen, 0x7f)] = 0;
		dst[0] = PPM_AF_UNIX;
		if (plen > 0 && st->tmp[2] == 0) {
			/* abstract socket: shown as @name */
			dst[1] = '@';
			bpf_probe_read_kernel(&dst[2], FBPF_MASK(plen, 0x7f), &st->tmp[3]);
			dst[FBPF_MASK(plen + 1, 0xff)] = 0;
			n = fbpf_tmp_strlen(st, 3, plen);
			return n + 2;
		}
		n = fbpf_tmp_strlen(st, 2, plen);
		bpf_probe_read_kernel(&dst[1], FBPF_MASK(n, 0xff), &st->tmp[2]);
		return n + 1;
	default:
		dst[0] = fbpf_family(fam);
		return 1;
	}
}

/* Copy a user sockaddr into st->tmp; its length, or -1. */
static __always_inline int fbpf_copy_sockaddr(struct fbpf_state *st, __u64 uptr,
					      long ulen)
{
	if (!uptr || ulen <= 0)
		return -1;
	if (ulen > FBPF_SOCKADDR_MAX)
		ulen = FBPF_SOCKADDR_MAX;
	__builtin_memset(st->tmp, 0, FBPF_SOCKADDR_MAX + 8);
	if (bpf_probe_read_user(st->tmp, FBPF_MASK(ulen, 0xff), (void *)uptr))
		return -1;
	return ulen;
}

/* Push a PT_SOCKADDR read from user memory (empty when absent). */
static __always_inline void fbpf_push_usockaddr(struct fbpf_state *st,
						__u64 uptr, long ulen)
{
	int len;

	if (!fbpf_can_push(st))
		return;
	len = fbpf_copy_sockaddr(st, uptr, ulen);
	if (len < 0) {
		fbpf_push_empty(st);
		return;
	}
	fbpf_commit(st, fbpf_encode_sockaddr(st, len));
}

/* The struct socket behind fd @fd of current, or NULL. */
static __always_inline struct socket *fbpf_sock(long fd)
{
	struct file *f = fbpf_fget(fd);

	if (!f || BPF_CORE_READ(f, f_inode, i_sb, s_magic) != K_SOCKFS_MAGIC)
		return NULL;
	return BPF_CORE_READ(f, private_data);
}

static __always_inline struct sock *fbpf_unix_peer(struct sock *sk)
{
	return BPF_CORE_READ((struct unix_sock *)sk, peer);
}

/*
 * Push the PT_SOCKTUPLE of socket fd @fd; @inbound (accept, receive) puts
 * the peer first; @uaddr/@ulen name the peer of an unconnected socket.
 */
static __always_inline void fbpf_push_tuple(struct fbpf_state *st, long fd,
					    int inbound, __u64 uaddr, long ulen)
{
	struct socket *sock;
	struct sock *sk, *peer;
	struct inet_sock *inet;
	struct unix_address *addr;
	__u8 *dst;
	__u8 lip[16] = {}, rip[16] = {};
	__u16 lport, rport, family;
	__u32 alen, len = 0, room;
	__u64 src, dstp;
	int ulenr, plen;

	if (!fbpf_can_push(st))
		return;
	sock = fbpf_sock(fd);
	sk = sock ? BPF_CORE_READ(sock, sk) : NULL;
	if (!sk) {
		fbpf_push_empty(st);
		return;
	}
	dst = fbpf_dst(st);
	room = fbpf_room(st);
	ulenr = fbpf_copy_sockaddr(st, uaddr, ulen);
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family == K_AF_INET || family == K_AF_INET6) {
		inet = (struct inet_sock *)sk;
		alen = family == K_AF_INET ? 4 : 16;
		if (family == K_AF_INET) {
			BPF_CORE_READ_INTO((__u32 *)lip, inet, inet_saddr);
			BPF_CORE_READ_INTO((__u32 *)rip, sk, __sk_common.skc_daddr);
		} else {
			BPF_CORE_READ_INTO((struct in6_addr *)lip, sk,
					   __sk_common.skc_v6_rcv_saddr);
			BPF_CORE_READ_INTO((struct in6_addr *)rip, sk,
					   __sk_common.skc_v6_daddr);
		}
		lport = fbpf_ntohs(BPF_CORE_READ(inet, inet_sport));
		rport = fbpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		/* Unconnected socket: the peer is the user's sockaddr. */
		if (!rport && ulenr > 0 && *(__u16 *)&st->tmp[0] == family) {
			if (family == K_AF_INET) {
				__builtin_memcpy(rip, &st->tmp[4], 4);
			} else {
				__builtin_memcpy(rip, &st->tmp[8], 16);
			}
			rport = fbpf_ntohs(*(__u16 *)&st->tmp[2]);
		}
		if (room < 1 + 2 * (16 + 2))
			goto out;
		dst[0] = family == K_AF_INET ? PPM_AF_INET : PPM_AF_INET6;
		if (alen == 4) {
			*(__u32 *)&dst[1] = *(__u32 *)(inbound ? rip : lip);
			*(__u16 *)&dst[5] = inbound ? rport : lport;
			*(__u32 *)&dst[7] = *(__u32 *)(inbound ? lip : rip);
			*(__u16 *)&dst[11] = inbound ? lport : rport;
			len = 13;
		} else {
			__builtin_memcpy(&dst[1], inbound ? rip : lip, 16);
			*(__u16 *)&dst[17] = inbound ? rport : lport;
			__builtin_memcpy(&dst[19], inbound ? lip : rip, 16);
			*(__u16 *)&dst[35] = inbound ? lport : rport;
			len = 37;
		}
	} else if (family == K_AF_UNIX) {
		peer = fbpf_unix_peer(sk);
		src = (__u64)sk;
		dstp = (__u64)peer;
		/* the path is the bound name of either end */
		addr = BPF_CORE_READ((struct unix_sock *)sk, addr);
		if ((!addr || BPF_CORE_READ(addr, len) <= 2) && peer)
			addr = BPF_CORE_READ((struct unix_sock *)peer, addr);
		plen = 0;
		if (addr && BPF_CORE_READ(addr, len) > 2)
			plen = BPF_CORE_READ(addr, len) - 2;
		if (plen > K_UNIX_PATH_MAX)
			plen = K_UNIX_PATH_MAX;
		if (room < 17 + K_UNIX_PATH_MAX + 2)
			goto out;
		dst[0] = PPM_AF_UNIX;
		*(__u64 *)&dst[1] = inbound ? dstp : src;
		*(__u64 *)&dst[9] = inbound ? src : dstp;
		st->tmp[0] = 0;
		if (plen > 0)
			bpf_probe_read_kernel(st->tmp, FBPF_MASK(plen, 0x7f),
					      (char *)addr +
					      bpf_core_field_offset(struct unix_address, name) +
					      2);
		st->tmp[FBPF_MASK(plen, 0x7f)] = 0;
		if (plen > 0 && st->tmp[0] == 0) {
			dst[17] = '@';
			bpf_probe_read_kernel(&dst[18], FBPF_MASK(plen - 1, 0x7f),
					      &st->tmp[1]);
			dst[FBPF_MASK(17 + plen, 0xff)] = 0;
			len = 17 + fbpf_tmp_strlen(st, 1, plen) + 1;
		} else {
			plen = fbpf_tmp_strlen(st, 0, plen);
			bpf_probe_read_kernel(&dst[17], FBPF_MASK(plen, 0xff), st->tmp);
			len = 17 + plen;
		}
	}
out:
	fbpf_commit(st, len);
}

struct fbpf_iov_ctx {
	struct fbpf_state *st;
	__u64 iov;	/* user address of the iovec array */
	__u64 total;
	__u64 limit;
	__u32 snap;
	__u32 copied;
	int push;	/* copy the data, or only add up the lengths */
};

static long fbpf_iov_step(__u32 i, void *data)
{
	struct fbpf_iov_ctx *c = data;
	struct fbpf_state *st = c->st;
	struct fbpf_iovec iov;
	__u64 n;

	if (bpf_probe_read_user(&iov, sizeof(iov),
				(void *)(c->iov + i * sizeof(iov))))
		return 1;
	c->total += iov.len;
	if (!c->push)
		return 0;
	n = iov.len;
	if (n > c->snap - c->copied)
		n = c->snap - c->copied;
	if (c->total > c->limit && n > c->limit - (c->total - iov.len))
		n = c->limit - (c->total - iov.len);
	if (n > 0xffff || c->copied > 0xffff)
		return 1;
	if (n && !bpf_probe_read_user(&st->rec[FBPF_MASK(st->pos + c->copied,
							 FBPF_REC_MASK)],
				      FBPF_MASK(n, 0xffff), (void *)iov.base))
		c->copied += n;
	return 0;
}

static __always_inline __u32 fbpf_iov_count(struct fbpf_msghdr *m)
{
	return m->iovlen > FBPF_IOV_MAX ? FBPF_IOV_MAX : m->iovlen;
}

/*
 * Push the data of a user msghdr's iovecs (up to snaplen, and up to
 * @limit bytes in all); returns the iovecs' total length.
 */
static __always_inline __u64 fbpf_push_msg_data(struct fbpf_state *st,
						struct fbpf_config *cfg,
						struct fbpf_msghdr *m,
						__u64 limit)
{
	struct fbpf_iov_ctx c = { .st = st, .iov = m->iov, .limit = limit,
				  .push = 1 };
	__u32 snap;

	if (!fbpf_can_push(st))
		return 0;
	snap = cfg->snaplen;
	if (snap > FPROBE_SNAPLEN_MAX)
		snap = FPROBE_SNAPLEN_MAX;
	if (snap > fbpf_room(st))
		snap = fbpf_room(st);
	c.snap = snap;
	bpf_loop(fbpf_iov_count(m), fbpf_iov_step, &c, 0);
	fbpf_commit(st, c.copied);
	return c.total;
}

/* Sum of the iovec lengths of a user msghdr. */
static __always_inline __u64 fbpf_iov_total(struct fbpf_state *st,
					    struct fbpf_msghdr *m)
{
	struct fbpf_iov_ctx c = { .st = st, .iov = m->iov };

	bpf_loop(fbpf_iov_count(m), fbpf_iov_step, &c, 0);
	return c.total;
}

static __always_inline void fbpf_fill_accept(struct fbpf_state *st, int four)
{
	struct socket *lsock = fbpf_sock(IA(0));
	struct sock *lsk = lsock ? BPF_CORE_READ(lsock, sk) : NULL;
	__u32 qlen = 0, qmax = 0;
	__u8 pct = 0;

	if (lsk) {
		qlen = BPF_CORE_READ(lsk, sk_ack_backlog);
		qmax = BPF_CORE_READ(lsk, sk_max_ack_backlog);
		if (qmax) {
			pct = qlen * 100 / qmax > 100 ? 100 : qlen * 100 / qmax;
		}
	}
	fbpf_push_num(st, st->ret);
	fbpf_push_tuple(st, st->ret, 1, 0, 0);
	fbpf_push_num(st, pct);
	fbpf_push_num(st, qlen);
	fbpf_push_num(st, qmax);
	if (four)
		fbpf_push_num(st, (__s64)(int)A(3));
}

static __always_inline __u64 fbpf_sock_ptr(long fd, int peer)
{
	struct socket *sock = fbpf_sock(fd);
	struct sock *sk = sock ? BPF_CORE_READ(sock, sk) : NULL;

	if (!sk)
		return 0;
	if (!peer)
		return (__u64)sk;
	if (BPF_CORE_READ(sk, __sk_common.skc_family) == K_AF_UNIX)
		return (__u64)fbpf_unix_peer(sk);
	return 0;
}

static __always_inline __u32 fbpf_sock_flags(__u64 type)
{
	__u32 res = 0;

	if (type & K_SOCK_NONBLOCK)
		res |= PPM_O_NONBLOCK;
	if (type & K_SOCK_CLOEXEC)
		res |= PPM_O_CLOEXEC;
	return res;
}

/* connect: enter and exit events */
static __always_inline void fbpf_fill_connect(struct fbpf_state *st)
{
	if (st->type == PPME_SOCKET_CONNECT_E) {
		fbpf_push_num(st, IA(0));
		fbpf_push_usockaddr(st, A(1), (long)(int)A(2));
		return;
	}
	fbpf_push_num(st, st->ret);
	fbpf_push_tuple(st, IA(0), 0, A(1), (long)(int)A(2));
	fbpf_push_num(st, IA(0));
	fbpf_push_usockaddr(st, A(1), (long)(int)A(2));
}

/* socket, socketpair, accept, bind, listen, shutdown */
static __always_inline void fbpf_fill_sock(struct fbpf_state *st)
{
	int fds[2];

	switch (st->type) {
	case PPME_SOCKET_SOCKET_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, fbpf_family(A(0)));
		fbpf_push_num(st, A(1));
		fbpf_push_num(st, A(2));
		fbpf_push_num(st, fbpf_sock_flags(A(1)));
		break;
	case PPME_SOCKET_SOCKETPAIR_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_fd_pair(st, A(3), fds);
		fbpf_push_num(st, fbpf_sock_ptr(fds[0], 0));
		fbpf_push_num(st, fbpf_sock_ptr(fds[0], 1));
		fbpf_push_num(st, fbpf_family(A(0)));
		fbpf_push_num(st, A(1));
		fbpf_push_num(st, A(2));
		break;
	case PPME_SOCKET_ACCEPT_5_X:
		fbpf_fill_accept(st, 0);
		break;
	case PPME_SOCKET_ACCEPT4_6_X:
		fbpf_fill_accept(st, 1);
		break;
	case PPME_SOCKET_BIND_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_usockaddr(st, A(1), (long)(int)A(2));
		fbpf_push_num(st, IA(0));
		break;
	case PPME_SOCKET_LISTEN_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, (__s64)(int)A(1));
		break;
	case PPME_SOCKET_SHUTDOWN_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_num(st, IA(0));
		/* PPM_SHUT_* equal SHUT_* */
		fbpf_push_num(st, A(1) <= 2 ? A(1) : PPM_SHUT_UNKNOWN);
		break;
	}
}

/* sendto, recvfrom, sendmsg, recvmsg */
static __always_inline void fbpf_fill_io(struct fbpf_state *st,
					 struct fbpf_config *cfg)
{
	struct fbpf_msghdr m = {};
	__u64 total;
	int alen, have_msg;

	switch (st->type) {
	case PPME_SOCKET_SENDTO_X:
		fbpf_push_num(st, st->ret);
		fbpf_push_ubuf(st, cfg, A(1), A(2));
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, A(2));
		fbpf_push_tuple(st, IA(0), 0, A(4), (long)(int)A(5));
		break;
	case PPME_SOCKET_RECVFROM_X:
		alen = 0;
		if (A(5) && bpf_probe_read_user(&alen, sizeof(alen), (void *)A(5)))
			alen = 0;
		fbpf_push_num(st, st->ret);
		fbpf_push_ubuf(st, cfg, A(1), st->ret);
		fbpf_push_tuple(st, IA(0), 1, A(4), alen);
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, A(2));
		break;
	case PPME_SOCKET_SENDMSG_X:
		have_msg = A(1) && !bpf_probe_read_user(&m, sizeof(m), (void *)A(1));
		fbpf_push_num(st, st->ret);
		total = have_msg ? fbpf_push_msg_data(st, cfg, &m, (__u64)-1) : 0;
		if (!have_msg)
			fbpf_push_empty(st);
		fbpf_push_num(st, IA(0));
		fbpf_push_num(st, total);
		fbpf_push_tuple(st, IA(0), 0, have_msg ? m.name : 0,
				have_msg ? m.namelen : 0);
		break;
	case PPME_SOCKET_RECVMSG_X:
		have_msg = A(1) && !bpf_probe_read_user(&m, sizeof(m), (void *)A(1));
		fbpf_push_num(st, st->ret);
		if (!have_msg) {
			fbpf_push_num(st, 0);
			fbpf_push_empty(st);
			fbpf_push_tuple(st, IA(0), 1, 0, 0);
			fbpf_push_empty(st);
			fbpf_push_num(st, IA(0));
			break;
		}
		fbpf_push_num(st, fbpf_iov_total(st, &m));
		fbpf_push_msg_data(st, cfg, &m, st->ret > 0 ? st->ret : 0);
		fbpf_push_tuple(st, IA(0), 1, m.name, m.namelen);
		fbpf_push_ubuf(st, cfg, m.control, m.controllen);
		fbpf_push_num(st, IA(0));
		break;
	}
}

#endif /* _FBPF_FILL_NET_H */
