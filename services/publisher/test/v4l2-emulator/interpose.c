/*
 * The C library functions this library takes over, for the one emulated path or its fds only;
 * everything else goes straight to the C library. OpenCV 4.6's V4L2 backend (Debian's
 * libopencv-videoio406) calls open, ioctl, mmap, munmap, select, poll and close directly (no
 * libv4l2); select and poll need nothing here, as the fd is a real pipe. access and stat answer
 * for the path too, so the publisher's own check that the device exists sees it come and go.
 */
#include "emu.h"

#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_FDS 65536
static struct emu_dev *devices[MAX_FDS];

#define REAL(name, ret, ...)                                                   \
  static ret (*real_##name)(__VA_ARGS__);                                      \
  static ret (*get_##name(void))(__VA_ARGS__) {                                \
    if (!real_##name) real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name); \
    return real_##name;                                                        \
  }

REAL(open, int, const char *, int, ...)
REAL(open64, int, const char *, int, ...)
REAL(openat, int, int, const char *, int, ...)
REAL(openat64, int, int, const char *, int, ...)
REAL(close, int, int)
REAL(read, ssize_t, int, void *, size_t)
REAL(ioctl, int, int, unsigned long, ...)
REAL(mmap, void *, void *, size_t, int, int, int, off_t)
REAL(mmap64, void *, void *, size_t, int, int, int, off_t)
REAL(access, int, const char *, int)
REAL(faccessat, int, int, const char *, int, int)
REAL(stat, int, const char *, struct stat *)
REAL(stat64, int, const char *, struct stat64 *)
REAL(__xstat, int, int, const char *, struct stat *)
REAL(__xstat64, int, int, const char *, struct stat64 *)

/* A forked child keeps the fds but not the camera thread: there they are plain pipes. */
static void forget_devices(void) { memset(devices, 0, sizeof devices); }

__attribute__((constructor)) static void emu_init(void) {
  emu_config_load();
  pthread_atfork(NULL, NULL, forget_devices);
}

static struct emu_dev *device_of(int fd) {
  return fd >= 0 && fd < MAX_FDS ? __atomic_load_n(&devices[fd], __ATOMIC_ACQUIRE) : NULL;
}

static int emu_open(int flags) {
  int error = 0;
  struct emu_dev *dev = emu_dev_open(flags, &error);
  if (!dev) {
    errno = error;
    return -1;
  }
  int fd = emu_dev_fd(dev);
  if (fd >= MAX_FDS) {
    emu_dev_close(dev);
    get_close()(fd);
    errno = EMFILE;
    return -1;
  }
  __atomic_store_n(&devices[fd], dev, __ATOMIC_RELEASE);
  return fd;
}

/* As glibc's __OPEN_NEEDS_MODE: only then was a mode passed. */
static mode_t mode_arg(int flags, va_list args) {
  return (flags & O_CREAT) || (flags & __O_TMPFILE) == __O_TMPFILE ? (mode_t)va_arg(args, int) : 0;
}

#define OPEN_BODY(real_call)                       \
  va_list args;                                    \
  va_start(args, flags);                           \
  mode_t mode = mode_arg(flags, args);             \
  va_end(args);                                    \
  if (emu_is_device_path(path)) return emu_open(flags); \
  return real_call;

int open(const char *path, int flags, ...) { OPEN_BODY(get_open()(path, flags, mode)) }
int open64(const char *path, int flags, ...) { OPEN_BODY(get_open64()(path, flags, mode)) }
int openat(int dirfd, const char *path, int flags, ...) { OPEN_BODY(get_openat()(dirfd, path, flags, mode)) }
int openat64(int dirfd, const char *path, int flags, ...) { OPEN_BODY(get_openat64()(dirfd, path, flags, mode)) }
int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open64(path, flags); }

int close(int fd) {
  struct emu_dev *dev = fd >= 0 && fd < MAX_FDS ? __atomic_exchange_n(&devices[fd], NULL, __ATOMIC_ACQ_REL) : NULL;
  if (dev) emu_dev_close(dev);
  return get_close()(fd);
}

/* uvcvideo offers no read() I/O (no V4L2_CAP_READWRITE): EINVAL, as the driver answers. */
ssize_t read(int fd, void *buf, size_t count) {
  if (device_of(fd)) {
    errno = EINVAL;
    return -1;
  }
  return get_read()(fd, buf, count);
}

int ioctl(int fd, unsigned long request, ...) {
  va_list args;
  va_start(args, request);
  void *arg = va_arg(args, void *);
  va_end(args);
  struct emu_dev *dev = device_of(fd);
  if (!dev) return get_ioctl()(fd, request, arg);
  int result = emu_dev_ioctl(dev, request, arg);
  if (result < 0) {
    errno = -result;
    return -1;
  }
  return result;
}

static void *emu_mmap(struct emu_dev *dev, void *addr, size_t length, int prot, int flags, off_t offset) {
  int error = 0;
  void *result = emu_dev_mmap(dev, addr, length, prot, flags, offset, &error);
  if (result == MAP_FAILED) errno = error;
  return result;
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
  struct emu_dev *dev = device_of(fd);
  return dev ? emu_mmap(dev, addr, length, prot, flags, offset) : get_mmap()(addr, length, prot, flags, fd, offset);
}

void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
  struct emu_dev *dev = device_of(fd);
  return dev ? emu_mmap(dev, addr, length, prot, flags, offset) : get_mmap64()(addr, length, prot, flags, fd, offset);
}

/* The path as a character device (major 81: video4linux), or ENOENT while unplugged. */
static int node_access(void) {
  if (emu_node_present()) return 0;
  errno = ENOENT;
  return -1;
}

static int node_stat(struct stat *st) {
  if (node_access() != 0) return -1;
  memset(st, 0, sizeof *st);
  st->st_mode = S_IFCHR | 0660;
  st->st_rdev = makedev(81, 0);
  st->st_nlink = 1;
  st->st_blksize = 4096;
  return 0;
}

int access(const char *path, int mode) { return emu_is_device_path(path) ? node_access() : get_access()(path, mode); }
int faccessat(int dirfd, const char *path, int mode, int flags) {
  return emu_is_device_path(path) ? node_access() : get_faccessat()(dirfd, path, mode, flags);
}
int stat(const char *path, struct stat *st) { return emu_is_device_path(path) ? node_stat(st) : get_stat()(path, st); }
int stat64(const char *path, struct stat64 *st) {
  return emu_is_device_path(path) ? node_stat((struct stat *)st) : get_stat64()(path, st);
}
int __xstat(int version, const char *path, struct stat *st) {
  return emu_is_device_path(path) ? node_stat(st) : get___xstat()(version, path, st);
}
int __xstat64(int version, const char *path, struct stat64 *st) {
  return emu_is_device_path(path) ? node_stat((struct stat *)st) : get___xstat64()(version, path, st);
}

int emu_real_close(int fd) { return get_close()(fd); }
ssize_t emu_real_read(int fd, void *buf, size_t count) { return get_read()(fd, buf, count); }
void *emu_real_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) { return get_mmap()(addr, length, prot, flags, fd, offset); }
