// Socket-native system calls for the reads and writes SwiftNIO makes on stream sockets.
//
// SwiftNIO reads and writes a TCP connection with read(2), write(2) and writev(2). On Linux
// those go through the VFS before they reach the socket (fdget_pos, rw_verify_area,
// security_file_permission, sock_read_iter / sock_write_iter); recv(2), send(2) and
// sendmsg(2) go to the socket directly. Heddle's executable is linked with
// `--wrap=read --wrap=write --wrap=writev` (Package.swift, Linux only), so that the calls in
// its statically linked code (SwiftNIO's among them) land in the functions below: each tries
// the socket call first and, on a descriptor that is not a socket (ENOTSOCK: a file, a pipe,
// a timerfd), makes the original call; standard input, output and error always get the
// original. The calls made inside shared libraries (the Swift runtime and Foundation, linked
// dynamically as by default, and libc itself) are not affected, nor are other executables
// that link Heddle's libraries without the flags. docs/architecture.md has the measurement.
#ifndef C_HEDDLE_SOCKET_CALLS_H
#define C_HEDDLE_SOCKET_CALLS_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#if defined(__linux__)
ssize_t __wrap_read(int fd, void *buffer, size_t count);
ssize_t __wrap_write(int fd, const void *buffer, size_t count);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int iovcnt);
#endif

#endif
