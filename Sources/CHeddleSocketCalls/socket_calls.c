#include "CHeddleSocketCalls.h"

#if defined(__linux__)
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

// The originals, which the linker's --wrap makes reachable under these names.
ssize_t __real_read(int fd, void *buffer, size_t count);
ssize_t __real_write(int fd, const void *buffer, size_t count);
ssize_t __real_writev(int fd, const struct iovec *iov, int iovcnt);

// recv(2) with no flags is read(2) on a connected socket (POSIX says so).
ssize_t __wrap_read(int fd, void *buffer, size_t count) {
    ssize_t result = recv(fd, buffer, count, 0);
    if (result < 0 && errno == ENOTSOCK) {
        return __real_read(fd, buffer, count);
    }
    return result;
}

// send(2) is write(2) on a connected socket, except that write(2) to a connection the peer
// has closed also raises SIGPIPE; SwiftNIO ignores SIGPIPE, so MSG_NOSIGNAL changes nothing
// but the signal: the call still fails with EPIPE.
ssize_t __wrap_write(int fd, const void *buffer, size_t count) {
    ssize_t result = send(fd, buffer, count, MSG_NOSIGNAL);
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
    ssize_t result = sendmsg(fd, &message, MSG_NOSIGNAL);
    if (result < 0 && errno == ENOTSOCK) {
        return __real_writev(fd, iov, iovcnt);
    }
    return result;
}
#endif
