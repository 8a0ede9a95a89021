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
//
// A descriptor that is not a socket costs one failed call (ENOTSOCK) before the original:
// NIO's timerfd on each timer expiry, files read at start or on reload. Standard input,
// output and error go straight to the original, so that the access log's line per request
// written to stdout costs no extra call.
//
// On a connected stream socket (all NIO reads and writes with these calls) each pair does the
// same. They differ elsewhere: recv consumes a pending zero-length datagram where read leaves
// it, and write on a SOCK_SEQPACKET socket marks a record end where send does not; Heddle
// reads and writes datagrams with recvmsg/sendmsg, which are not wrapped, and has no
// SOCK_SEQPACKET sockets. /proc/PID/io's rchar and wchar no longer count socket traffic.

// The originals, which the linker's --wrap makes reachable under these names.
ssize_t __real_read(int fd, void *buffer, size_t count);
ssize_t __real_write(int fd, const void *buffer, size_t count);
ssize_t __real_writev(int fd, const struct iovec *iov, int iovcnt);

// Whether a socket call failed because the descriptor is not a socket, in which case the
// caller makes the original call, with errno as it was before the attempt.
static int not_a_socket(ssize_t result, int saved_errno) {
    if (result < 0 && errno == ENOTSOCK) {
        errno = saved_errno;
        return 1;
    }
    return 0;
}

ssize_t __wrap_read(int fd, void *buffer, size_t count) {
    if (fd <= STDERR_FILENO) {
        return __real_read(fd, buffer, count);
    }
    int saved = errno;
    ssize_t result = syscall(SYS_recvfrom, fd, buffer, count, 0, NULL, NULL);
    return not_a_socket(result, saved) ? __real_read(fd, buffer, count) : result;
}

// write(2) to a connection the peer has closed also raises SIGPIPE; NIO ignores SIGPIPE, so
// MSG_NOSIGNAL changes nothing but the signal: the call still fails with EPIPE.
ssize_t __wrap_write(int fd, const void *buffer, size_t count) {
    if (fd <= STDERR_FILENO) {
        return __real_write(fd, buffer, count);
    }
    int saved = errno;
    ssize_t result = syscall(SYS_sendto, fd, buffer, count, MSG_NOSIGNAL, NULL, 0);
    return not_a_socket(result, saved) ? __real_write(fd, buffer, count) : result;
}

ssize_t __wrap_writev(int fd, const struct iovec *iov, int iovcnt) {
    if (fd <= STDERR_FILENO || iovcnt < 0) {
        return __real_writev(fd, iov, iovcnt);
    }
    struct msghdr message = {0};
    message.msg_iov = (struct iovec *)iov;
    message.msg_iovlen = (size_t)iovcnt;
    int saved = errno;
    ssize_t result = syscall(SYS_sendmsg, fd, &message, MSG_NOSIGNAL);
    return not_a_socket(result, saved) ? __real_writev(fd, iov, iovcnt) : result;
}
#endif
