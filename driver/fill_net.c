// SPDX-License-Identifier: GPL-2.0
/*
 * fill_net.c - fillers of the socket syscalls
 *
 * Socket tuples (PT_SOCKTUPLE) put the initiator first: for connect and
 * the send family source = local end, destination = peer; for accept and
 * the receive family source = peer, destination = local end.  Ports are
 * in host byte order, addresses in network byte order.
 */
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/un.h>
#include <linux/uio.h>
#include <linux/uaccess.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/af_unix.h>

#include "fprobe.h"

#define A(i) (r->args[i])
#define IA(i) ((s64)(int)r->args[i])

/* Largest sockaddr we decode. */
#define FPROBE_SOCKADDR_MAX ((int)sizeof(struct sockaddr_storage))

static u8 fprobe_family(int family)
{
	/* PPM_AF_* share the kernel's numbering. */
	return family >= 0 && family < 46 ? family : PPM_AF_UNSPEC;
}

/* Encode a sockaddr as PT_SOCKADDR into @dst; returns the length or 0. */
static u32 fprobe_encode_sockaddr(const struct sockaddr_storage *ss, int len,
				  char *dst, u32 room)
{
	const struct sockaddr_in *sin = (const void *)ss;
	const struct sockaddr_in6 *sin6 = (const void *)ss;
	const struct sockaddr_un *sun = (const void *)ss;
	u16 port;
	int plen;

	if (len < (int)sizeof(sa_family_t))
		return 0;
	switch (ss->ss_family) {
	case AF_INET:
		if (len < (int)sizeof(*sin) || room < 7)
			return 0;
		dst[0] = PPM_AF_INET;
		memcpy(dst + 1, &sin->sin_addr.s_addr, 4);
		port = ntohs(sin->sin_port);
		memcpy(dst + 5, &port, 2);
		return 7;
	case AF_INET6:
		if (len < (int)sizeof(*sin6) || room < 19)
			return 0;
		dst[0] = PPM_AF_INET6;
		memcpy(dst + 1, &sin6->sin6_addr, 16);
		port = ntohs(sin6->sin6_port);
		memcpy(dst + 17, &port, 2);
		return 19;
	case AF_UNIX:
		plen = len - (int)offsetof(struct sockaddr_un, sun_path);
		if (plen < 0)
			plen = 0;
		plen = min_t(int, plen, UNIX_PATH_MAX);
		if (room < (u32)plen + 2)
			return 0;
		dst[0] = PPM_AF_UNIX;
		if (plen > 0 && sun->sun_path[0] == '\0') {
			/* abstract socket: shown as @name */
			dst[1] = '@';
			memcpy(dst + 2, sun->sun_path + 1, plen - 1);
			dst[plen + 1] = '\0';
		} else {
			memcpy(dst + 1, sun->sun_path, plen);
			dst[1 + plen] = '\0';
			plen = strnlen(dst + 1, plen);
			dst[1 + plen] = '\0';
		}
		return strlen(dst + 1) + 2;
	default:
		if (room < 1)
			return 0;
		dst[0] = fprobe_family(ss->ss_family);
		return 1;
	}
}

/* Copy a user sockaddr; returns its length or -1. */
static int fprobe_copy_sockaddr(unsigned long uptr, long ulen,
				struct sockaddr_storage *ss)
{
	if (!uptr || ulen <= 0)
		return -1;
	if (ulen > FPROBE_SOCKADDR_MAX)
		ulen = FPROBE_SOCKADDR_MAX;
	memset(ss, 0, sizeof(*ss));
	if (copy_from_user_nofault(ss, (const void __user *)uptr, ulen))
		return -1;
	return ulen;
}

/* Push a PT_SOCKADDR read from user memory (empty when absent). */
static void fprobe_push_usockaddr(struct fprobe_rec *r, unsigned long uptr,
				  long ulen)
{
	struct sockaddr_storage ss;
	char *dst = fprobe_param_begin(r);
	int len;

	if (!dst)
		return;
	len = fprobe_copy_sockaddr(uptr, ulen, &ss);
	if (len < 0) {
		fprobe_push_empty(r);
		return;
	}
	fprobe_param_commit(r, fprobe_encode_sockaddr(&ss, len, dst,
						      fprobe_room_left(r)));
}

/* Look up the socket behind fd @fd of current; caller sockfd_put()s. */
static struct socket *fprobe_sock(long fd)
{
	int err;

	if (fd < 0 || fd > INT_MAX)
		return NULL;
	return sockfd_lookup(fd, &err);
}

/**
 * fprobe_push_tuple() - push the PT_SOCKTUPLE of a socket fd
 * @r: the record
 * @fd: socket fd of current
 * @inbound: true for accept/receive (peer first)
 * @uaddr: user sockaddr naming the peer when the socket is not connected
 * @ulen: its length
 */
static void fprobe_push_tuple(struct fprobe_rec *r, long fd, bool inbound,
			      unsigned long uaddr, long ulen)
{
	char *dst = fprobe_param_begin(r);
	u32 room = fprobe_room_left(r);
	struct sockaddr_storage ss;
	struct socket *sock;
	struct sock *sk, *peer;
	struct inet_sock *inet;
	u8 lip[16], rip[16];
	u16 lport, rport;
	u32 len = 0, alen;
	int ulenr;

	if (!dst)
		return;
	sock = fprobe_sock(fd);
	if (!sock || !sock->sk) {
		if (sock)
			sockfd_put(sock);
		fprobe_push_empty(r);
		return;
	}
	sk = sock->sk;
	ulenr = fprobe_copy_sockaddr(uaddr, ulen, &ss);
	switch (sk->sk_family) {
	case AF_INET:
	case AF_INET6:
		inet = inet_sk(sk);
		alen = sk->sk_family == AF_INET ? 4 : 16;
		if (sk->sk_family == AF_INET) {
			memcpy(lip, &inet->inet_saddr, 4);
			memcpy(rip, &sk->sk_daddr, 4);
		} else {
			memcpy(lip, &sk->sk_v6_rcv_saddr, 16);
			memcpy(rip, &sk->sk_v6_daddr, 16);
		}
		lport = ntohs(inet->inet_sport);
		rport = ntohs(inet->inet_dport);
		/* Unconnected socket: the peer is the user's sockaddr. */
		if (!rport && ulenr > 0 && ss.ss_family == sk->sk_family) {
			if (sk->sk_family == AF_INET) {
				struct sockaddr_in *sin = (void *)&ss;

				memcpy(rip, &sin->sin_addr, 4);
				rport = ntohs(sin->sin_port);
			} else {
				struct sockaddr_in6 *sin6 = (void *)&ss;

				memcpy(rip, &sin6->sin6_addr, 16);
				rport = ntohs(sin6->sin6_port);
			}
		}
		if (room < 1 + 2 * (alen + 2))
			break;
		dst[0] = sk->sk_family == AF_INET ? PPM_AF_INET : PPM_AF_INET6;
		memcpy(dst + 1, inbound ? rip : lip, alen);
		memcpy(dst + 1 + alen, inbound ? &rport : &lport, 2);
		memcpy(dst + 3 + alen, inbound ? lip : rip, alen);
		memcpy(dst + 3 + 2 * alen, inbound ? &lport : &rport, 2);
		len = 1 + 2 * (alen + 2);
		break;
	case AF_UNIX: {
		struct unix_address *addr;
		u64 src, dstp;
		const char *path = "";
		int plen = 0;

		peer = unix_peer(sk);
		src = (u64)(unsigned long)sk;
		dstp = (u64)(unsigned long)peer;
		/*
		 * The path is the bound name of either end.  Pairs with the
		 * release store of ->addr in unix_bind().
		 */
		addr = smp_load_acquire(&unix_sk(sk)->addr);
		if ((!addr || addr->len <= (int)sizeof(short)) && peer)
			/* same pairing, on the peer */
			addr = smp_load_acquire(&unix_sk(peer)->addr);
		if (addr && addr->len > (int)sizeof(short)) {
			path = addr->name->sun_path;
			plen = addr->len - sizeof(short);
		}
		if (room < 17 + (u32)plen + 2)
			break;
		dst[0] = PPM_AF_UNIX;
		memcpy(dst + 1, inbound ? &dstp : &src, 8);
		memcpy(dst + 9, inbound ? &src : &dstp, 8);
		if (plen && path[0] == '\0') {
			dst[17] = '@';
			memcpy(dst + 18, path + 1, plen - 1);
			dst[17 + plen] = '\0';
		} else {
			memcpy(dst + 17, path, plen);
			dst[17 + plen] = '\0';
		}
		len = 17 + strlen(dst + 17) + 1;
		break;
	}
	default:
		break;
	}
	sockfd_put(sock);
	fprobe_param_commit(r, len);
}

/* Push data gathered from a user msghdr's iovecs, and return their total. */
static u64 fprobe_push_msg_data(struct fprobe_rec *r, unsigned long umsg,
				struct user_msghdr *m, u64 limit)
{
	char *dst = fprobe_param_begin(r);
	u32 room = fprobe_room_left(r);
	u32 snap = min_t(u32, READ_ONCE(r->s->snaplen), room);
	struct iovec iov;
	u64 total = 0;
	u32 copied = 0, n;
	unsigned long i;

	if (!dst)
		return 0;
	for (i = 0; i < m->msg_iovlen && i < 64; i++) {
		if (copy_from_user_nofault(&iov, (const void __user *)
					   ((unsigned long)m->msg_iov + i * sizeof(iov)),
					   sizeof(iov)))
			break;
		total += iov.iov_len;
		n = min_t(u64, iov.iov_len, snap - copied);
		if (total > limit)
			n = min_t(u64, n, limit - (total - iov.iov_len));
		if (n && !copy_from_user_nofault(dst + copied, iov.iov_base, n))
			copied += n;
	}
	fprobe_param_commit(r, copied);
	return total;
}

static void fprobe_fill_accept(struct fprobe_rec *r, bool four)
{
	struct socket *lsock = fprobe_sock(IA(0));
	u32 qlen = 0, qmax = 0;
	u8 pct = 0;

	if (lsock && lsock->sk) {
		qlen = READ_ONCE(lsock->sk->sk_ack_backlog);
		qmax = READ_ONCE(lsock->sk->sk_max_ack_backlog);
		if (qmax)
			pct = (u8)min_t(u32, 100, qlen * 100 / qmax);
	}
	if (lsock)
		sockfd_put(lsock);
	fprobe_push_u64(r, r->ret);
	fprobe_push_tuple(r, r->ret, true, 0, 0);
	fprobe_push_u64(r, pct);
	fprobe_push_u64(r, qlen);
	fprobe_push_u64(r, qmax);
	if (four)
		fprobe_push_u64(r, (s64)(int)A(3));
}

static u64 fprobe_sock_ptr(long fd, bool peer)
{
	struct socket *sock = fprobe_sock(fd);
	u64 v = 0;

	if (sock && sock->sk) {
		if (!peer)
			v = (u64)(unsigned long)sock->sk;
		else if (sock->sk->sk_family == AF_UNIX)
			v = (u64)(unsigned long)unix_peer(sock->sk);
	}
	if (sock)
		sockfd_put(sock);
	return v;
}

static u32 fprobe_sock_flags(unsigned long type)
{
	u32 res = 0;

	if (type & SOCK_NONBLOCK)
		res |= PPM_O_NONBLOCK;
	if (type & SOCK_CLOEXEC)
		res |= PPM_O_CLOEXEC;
	return res;
}

/**
 * fprobe_fill_net() - fillers of the socket syscalls
 * @r: the record
 *
 * Return: 0 if r->type is a socket event, else -ENOENT.
 */
int fprobe_fill_net(struct fprobe_rec *r)
{
	struct user_msghdr m;
	int fds[2];
	u64 total;
	bool have_msg;

	switch (r->type) {
	case PPME_SOCKET_SOCKET_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, fprobe_family(A(0)));
		fprobe_push_u64(r, A(1));
		fprobe_push_u64(r, A(2));
		fprobe_push_u64(r, fprobe_sock_flags(A(1)));
		break;
	case PPME_SOCKET_SOCKETPAIR_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_fd_pair(r, A(3), fds);
		fprobe_push_u64(r, fprobe_sock_ptr(fds[0], false));
		fprobe_push_u64(r, fprobe_sock_ptr(fds[0], true));
		fprobe_push_u64(r, fprobe_family(A(0)));
		fprobe_push_u64(r, A(1));
		fprobe_push_u64(r, A(2));
		break;
	case PPME_SOCKET_CONNECT_E:
		fprobe_push_u64(r, IA(0));
		fprobe_push_usockaddr(r, A(1), (long)(int)A(2));
		break;
	case PPME_SOCKET_CONNECT_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_tuple(r, IA(0), false, A(1), (long)(int)A(2));
		fprobe_push_u64(r, IA(0));
		fprobe_push_usockaddr(r, A(1), (long)(int)A(2));
		break;
	case PPME_SOCKET_ACCEPT_5_X:
		fprobe_fill_accept(r, false);
		break;
	case PPME_SOCKET_ACCEPT4_6_X:
		fprobe_fill_accept(r, true);
		break;
	case PPME_SOCKET_BIND_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_usockaddr(r, A(1), (long)(int)A(2));
		fprobe_push_u64(r, IA(0));
		break;
	case PPME_SOCKET_LISTEN_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, (s64)(int)A(1));
		break;
	case PPME_SOCKET_SHUTDOWN_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_u64(r, IA(0));
		/* PPM_SHUT_* equal SHUT_* */
		fprobe_push_u64(r, A(1) <= 2 ? A(1) : PPM_SHUT_UNKNOWN);
		break;
	case PPME_SOCKET_SENDTO_X:
		fprobe_push_u64(r, r->ret);
		fprobe_push_ubuf(r, A(1), A(2));
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, A(2));
		fprobe_push_tuple(r, IA(0), false, A(4), (long)(int)A(5));
		break;
	case PPME_SOCKET_RECVFROM_X: {
		int alen = 0;

		if (A(5) && copy_from_user_nofault(&alen, (const void __user *)A(5),
						   sizeof(alen)))
			alen = 0;
		fprobe_push_u64(r, r->ret);
		fprobe_push_ubuf(r, A(1), r->ret);
		fprobe_push_tuple(r, IA(0), true, A(4), alen);
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, A(2));
		break;
	}
	case PPME_SOCKET_SENDMSG_X:
		have_msg = A(1) && !copy_from_user_nofault(&m, (const void __user *)A(1),
							 sizeof(m));
		fprobe_push_u64(r, r->ret);
		total = have_msg ? fprobe_push_msg_data(r, A(1), &m, U64_MAX) : 0;
		if (!have_msg)
			fprobe_push_empty(r);
		fprobe_push_u64(r, IA(0));
		fprobe_push_u64(r, total);
		fprobe_push_tuple(r, IA(0), false,
				  have_msg ? (unsigned long)m.msg_name : 0,
				  have_msg ? m.msg_namelen : 0);
		break;
	case PPME_SOCKET_RECVMSG_X:
		have_msg = A(1) && !copy_from_user_nofault(&m, (const void __user *)A(1),
							 sizeof(m));
		fprobe_push_u64(r, r->ret);
		if (!have_msg) {
			fprobe_push_u64(r, 0);
			fprobe_push_empty(r);
			fprobe_push_tuple(r, IA(0), true, 0, 0);
			fprobe_push_empty(r);
			fprobe_push_u64(r, IA(0));
			break;
		}
		{
			/* size is the total iovec length: compute it first */
			struct iovec iov;
			unsigned long i;

			total = 0;
			for (i = 0; i < m.msg_iovlen && i < 64; i++) {
				if (copy_from_user_nofault(&iov, (const void __user *)
							   ((unsigned long)m.msg_iov + i * sizeof(iov)),
							   sizeof(iov)))
					break;
				total += iov.iov_len;
			}
		}
		fprobe_push_u64(r, total);
		fprobe_push_msg_data(r, A(1), &m, r->ret > 0 ? r->ret : 0);
		fprobe_push_tuple(r, IA(0), true, (unsigned long)m.msg_name,
				  m.msg_namelen);
		fprobe_push_ubuf(r, (unsigned long)m.msg_control, m.msg_controllen);
		fprobe_push_u64(r, IA(0));
		break;
	default:
		return -ENOENT;
	}
	return 0;
}
