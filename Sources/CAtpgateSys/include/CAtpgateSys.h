// Linux calls that Swift's Glibc module does not expose because it is built without _GNU_SOURCE
// (splice, pipe2, accept4, F_SETPIPE_SZ). Thin wrappers; errno is left as the call set it.
#ifndef CATPGATESYS_H
#define CATPGATESYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC: one syscall instead of accept + two fcntl.
int atpgate_accept_nonblocking(int fd, struct sockaddr *addr, socklen_t *len);

/// pipe2 with O_NONBLOCK | O_CLOEXEC. Returns 0 or -1 (errno set).
int atpgate_pipe_nonblocking(int fds[2]);

/// fcntl(F_SETPIPE_SZ). Returns the new capacity or -1 (EPERM past the per-user limit).
int atpgate_set_pipe_size(int fd, int size);

/// fcntl(F_GETPIPE_SZ).
int atpgate_get_pipe_size(int fd);

/// splice with SPLICE_F_MOVE | SPLICE_F_NONBLOCK, no offsets (sockets and pipes only).
ssize_t atpgate_splice(int from, int to, size_t len);

/// The socket's pending error (SO_ERROR), or the getsockopt errno.
int atpgate_socket_error(int fd);

/// poll(fd, events, timeout_ms) for one descriptor; returns revents, 0 on timeout, -1 on error.
int atpgate_poll_one(int fd, short events, int timeout_ms);

/// Readiness as the loop sees it: epoll's bits folded into two (struct epoll_event is packed on x86_64,
/// so Swift gets plain values instead). An error or hang-up counts as both: the next read or write
/// reports it.
#define ATPGATE_READY_READ 1u
#define ATPGATE_READY_WRITE 2u

/// epoll_create1(EPOLL_CLOEXEC).
int atpgate_epoll_create(void);

/// Registers `fd` once, edge-triggered, for input, output and peer half-close, with `token` as its data.
int atpgate_epoll_add(int epfd, int fd, uint64_t token);

/// Removes `fd` (before it is closed, so a reused number never inherits the registration).
int atpgate_epoll_del(int epfd, int fd);

/// epoll_wait(epfd, ..., max, 0): never blocks. Fills tokens[i] and ready[i] (ATPGATE_READY_* bits);
/// returns the count, or -1 (errno set).
int atpgate_epoll_poll(int epfd, uint64_t *tokens, uint32_t *ready, int max);

#endif
