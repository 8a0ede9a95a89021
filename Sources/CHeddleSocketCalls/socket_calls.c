#include "CHeddleSocketCalls.h"

#if defined(__linux__)
#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

// The calls are made with syscall(2), not glibc's recv/send/sendmsg: those are cancellation
// points, which in a multi-threaded process wrap every call in two atomic updates of the
// thread's cancellation state (__pthread_enable_asynccancel / _disable), 0.6 % of the proxy's
// samples. Nothing in Heddle cancels threads. syscall(2) sets errno as the wrappers do.

// The originals, which the linker's --wrap makes reachable under these names.
ssize_t __real_read(int fd, void *buffer, size_t count);
ssize_t __real_write(int fd, const void *buffer, size_t count);
ssize_t __real_writev(int fd, const struct iovec *iov, int iovcnt);

// recv(2) with no flags is read(2) on a connected socket (POSIX says so).
ssize_t __wrap_read(int fd, void *buffer, size_t count) {
    ssize_t result = syscall(SYS_recvfrom, fd, buffer, count, 0, NULL, NULL);
    if (result < 0 && errno == ENOTSOCK) {
        return __real_read(fd, buffer, count);
    }
    return result;
}

// send(2) is write(2) on a connected socket, except that write(2) to a connection the peer
// has closed also raises SIGPIPE; SwiftNIO ignores SIGPIPE, so MSG_NOSIGNAL changes nothing
// but the signal: the call still fails with EPIPE.
ssize_t __wrap_write(int fd, const void *buffer, size_t count) {
    ssize_t result = syscall(SYS_sendto, fd, buffer, count, MSG_NOSIGNAL, NULL, 0);
    if (result < 0 && errno == ENOTSOCK) {
        return __real_write(fd, buffer, count);
    }
    return result;
}

ssize_t __wrap_writev(int fd, const struct iovec *iov, int iovcnt) {
    if (iovcnt < 0) {
        return __real_writev(fd, iov, iovcnt);
    }
    struct msghdr message = {0};
    message.msg_iov = (struct iovec *)iov;
    message.msg_iovlen = (size_t)iovcnt;
    ssize_t result = syscall(SYS_sendmsg, fd, &message, MSG_NOSIGNAL);
    if (result < 0 && errno == ENOTSOCK) {
        return __real_writev(fd, iov, iovcnt);
    }
    return result;
}
#endif
