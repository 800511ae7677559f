#define _GNU_SOURCE
#include "CAtpgateSys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

int atpgate_accept_nonblocking(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int atpgate_pipe_nonblocking(int fds[2]) {
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

int atpgate_set_pipe_size(int fd, int size) {
    return fcntl(fd, F_SETPIPE_SZ, size);
}

int atpgate_get_pipe_size(int fd) {
    return fcntl(fd, F_GETPIPE_SZ);
}

ssize_t atpgate_splice(int from, int to, size_t len) {
    return splice(from, NULL, to, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

int atpgate_socket_error(int fd) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return errno;
    }
    return err;
}

int atpgate_poll_one(int fd, short events, int timeout_ms) {
    struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
    int r = poll(&p, 1, timeout_ms);
    if (r <= 0) {
        return r;
    }
    return p.revents;
}

int atpgate_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int atpgate_epoll_add(int epfd, int fd, uint64_t token) {
    struct epoll_event event;
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int atpgate_epoll_del(int epfd, int fd) {
    struct epoll_event event = {0};
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event);
}

int atpgate_epoll_poll(int epfd, uint64_t *tokens, uint32_t *ready, int max) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    int n;
    do {
        n = epoll_wait(epfd, events, max, 0);
    } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) {
        uint32_t e = events[i].events;
        uint32_t bits = 0;
        if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) bits |= ATPGATE_READY_READ;
        if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) bits |= ATPGATE_READY_WRITE;
        tokens[i] = events[i].data.u64;
        ready[i] = bits;
    }
    return n;
}
