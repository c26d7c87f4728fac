/*
 * One open of the emulated camera: buffers (REQBUFS, QUERYBUF, mmap, QBUF, DQBUF), STREAMON and
 * STREAMOFF (the camera thread is in stream.c). Unplugged (control file), every call gives ENODEV
 * and the fd reports hang-up.
 */
#include "device.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct emu_dev *emu_dev_open(int flags, int *error) {
  char busy[32];
  if (emu_fault("unplugged", NULL, 0)) {
    *error = emu_node_present() ? ENODEV : ENOENT;
    return NULL;
  }
  if (emu_fault("busy", busy, sizeof busy) && strcmp(busy, "open") == 0) {
    *error = EBUSY;
    return NULL;
  }
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    *error = errno;
    return NULL;
  }
  if (!(flags & O_CLOEXEC)) fcntl(pipe_fds[0], F_SETFD, 0);
  struct emu_dev *dev = calloc(1, sizeof *dev);
  dev->fd = pipe_fds[0];
  dev->wake_fd = pipe_fds[1];
  dev->nonblocking = (flags & O_NONBLOCK) != 0;
  dev->memfd = -1;
  dev->format = &emu_cfg.formats[0];
  dev->size = &dev->format->sizes[0];
  dev->fps = dev->size->fps[0];
  dev->brightness = 128;
  dev->contrast = 32;
  pthread_mutex_init(&dev->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&dev->cond, &attr);
  emu_log("\"event\":\"open\",\"fd\":%d,\"nonblocking\":%d", dev->fd, dev->nonblocking);
  return dev;
}

int emu_dev_fd(const struct emu_dev *dev) { return dev->fd; }

/* Locked. STREAMOFF, also implied by REQBUFS 0 and close: every buffer back to the application. */
static void stream_off(struct emu_dev *dev) {
  if (dev->streaming) {
    dev->stop = 1;
    pthread_cond_broadcast(&dev->cond);
    pthread_mutex_unlock(&dev->lock);
    pthread_join(dev->thread, NULL);
    pthread_mutex_lock(&dev->lock);
    dev->streaming = 0;
    emu_jpegs_free(&dev->jpegs);
    emu_log("\"event\":\"streamoff\"");
  }
  for (int i = 0; i < dev->nbufs; i++) dev->bufs[i].state = BUF_DEQUEUED;
  dev->nqueued = dev->ndone = dev->ninflight = 0;
  char drain[64];
  while (!dev->gone && emu_real_read(dev->fd, drain, sizeof drain) > 0) {
  }
}

static int stream_on(struct emu_dev *dev) {
  if (dev->streaming) return 0;
  if (dev->nbufs == 0) return -EINVAL;
  if (dev->format->fourcc == V4L2_PIX_FMT_MJPEG && emu_jpegs_load(&dev->jpegs, dev->size->width, dev->size->height, dev->buf_length) != 0) return -EIO;
  dev->stop = 0;
  dev->streaming = 1;
  pthread_create(&dev->thread, NULL, emu_produce, dev);
  emu_log("\"event\":\"streamon\",\"fps\":%u,\"buffers\":%d", dev->fps, dev->nbufs);
  return 0;
}

static void free_buffers(struct emu_dev *dev) {
  if (dev->memory) munmap(dev->memory, (size_t)dev->nbufs * dev->buf_length);
  if (dev->memfd >= 0) emu_real_close(dev->memfd);
  dev->memory = NULL;
  dev->memfd = -1;
  dev->nbufs = 0;
}

static int request_buffers(struct emu_dev *dev, struct v4l2_requestbuffers *req) {
  char busy[32];
  if (req->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || req->memory != V4L2_MEMORY_MMAP) return -EINVAL;
  if (req->count > 0 && emu_fault("busy", busy, sizeof busy) && strcmp(busy, "open") != 0) return -EBUSY;
  stream_off(dev);
  free_buffers(dev);
  if (req->count == 0) return 0;
  uint32_t count = req->count > EMU_MAX_BUFFERS ? EMU_MAX_BUFFERS : req->count;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  dev->buf_length = (emu_sizeimage(dev) + page - 1) / page * page;
  dev->memfd = memfd_create("v4l2-emu-buffers", MFD_CLOEXEC);
  if (dev->memfd < 0 || ftruncate(dev->memfd, (off_t)(count * dev->buf_length)) != 0) return -ENOMEM;
  dev->memory = emu_real_mmap(NULL, count * dev->buf_length, PROT_READ | PROT_WRITE, MAP_SHARED, dev->memfd, 0);
  if (dev->memory == MAP_FAILED) {
    dev->memory = NULL;
    free_buffers(dev);
    return -ENOMEM;
  }
  dev->nbufs = (int)count;
  memset(dev->bufs, 0, sizeof dev->bufs);
  req->count = count;
  req->capabilities = V4L2_BUF_CAP_SUPPORTS_MMAP;
  return 0;
}

static int describe_buffer(struct emu_dev *dev, struct v4l2_buffer *b) {
  if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->index >= (uint32_t)dev->nbufs) return -EINVAL;
  const struct emu_buf *buf = &dev->bufs[b->index];
  uint32_t index = b->index;
  memset(b, 0, sizeof *b);
  b->index = index;
  b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  b->memory = V4L2_MEMORY_MMAP;
  b->length = (uint32_t)dev->buf_length;
  b->m.offset = (uint32_t)(index * dev->buf_length);
  b->field = V4L2_FIELD_NONE;
  b->bytesused = buf->bytesused;
  b->sequence = buf->sequence;
  b->timestamp = buf->timestamp;
  b->flags = V4L2_BUF_FLAG_MAPPED | V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC | V4L2_BUF_FLAG_TSTAMP_SRC_SOE;
  if (buf->state == BUF_QUEUED) b->flags |= V4L2_BUF_FLAG_QUEUED;
  if (buf->state == BUF_DONE) b->flags |= V4L2_BUF_FLAG_DONE;
  return 0;
}

static int dequeue(struct emu_dev *dev, struct v4l2_buffer *b) {
  if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->memory != V4L2_MEMORY_MMAP) return -EINVAL;
  while (dev->ndone == 0) {
    if (dev->gone) return -ENODEV;
    if (!dev->streaming) return -EINVAL;
    if (dev->nonblocking) {
      dev->waiting = 1;
      if (!dev->stall_logged && emu_fault("stalled", NULL, 0)) emu_log_stall(dev);
      return -EAGAIN;
    }
    pthread_cond_wait(&dev->cond, &dev->lock);
  }
  dev->waiting = 0;
  int index = dev->done[0];
  memmove(dev->done, dev->done + 1, sizeof(int) * (size_t)--dev->ndone);
  char byte;
  emu_real_read(dev->fd, &byte, 1);
  dev->bufs[index].state = BUF_DEQUEUED;
  b->index = (uint32_t)index;
  return describe_buffer(dev, b);
}

static int buffer_ioctl(struct emu_dev *dev, unsigned long request, void *arg) {
  switch (request) {
  case VIDIOC_REQBUFS: return request_buffers(dev, arg);
  case VIDIOC_QUERYBUF: return describe_buffer(dev, arg);
  case VIDIOC_QBUF: {
    struct v4l2_buffer *b = arg;
    if (b->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || b->memory != V4L2_MEMORY_MMAP || b->index >= (uint32_t)dev->nbufs) return -EINVAL;
    if (dev->bufs[b->index].state != BUF_DEQUEUED) return -EINVAL;
    dev->bufs[b->index].state = BUF_QUEUED;
    dev->queued[dev->nqueued++] = (int)b->index;
    b->flags = (b->flags | V4L2_BUF_FLAG_QUEUED) & ~V4L2_BUF_FLAG_DONE;
    return 0;
  }
  case VIDIOC_DQBUF: return dequeue(dev, arg);
  case VIDIOC_STREAMON:
  case VIDIOC_STREAMOFF:
    if (*(int *)arg != V4L2_BUF_TYPE_VIDEO_CAPTURE) return -EINVAL;
    if (request == VIDIOC_STREAMON) return stream_on(dev);
    stream_off(dev);
    return 0;
  default: return emu_dev_control_ioctl(dev, request, arg);
  }
}

int emu_dev_ioctl(struct emu_dev *dev, unsigned long request, void *arg) {
  if (!arg) return -EFAULT;
  pthread_mutex_lock(&dev->lock);
  if (!dev->gone && emu_fault("unplugged", NULL, 0)) emu_mark_gone(dev);
  int result = dev->gone ? -ENODEV : buffer_ioctl(dev, request, arg);
  pthread_mutex_unlock(&dev->lock);
  return result;
}

void *emu_dev_mmap(struct emu_dev *dev, void *addr, size_t length, int prot, int flags, off_t offset, int *error) {
  pthread_mutex_lock(&dev->lock);
  void *result = MAP_FAILED;
  *error = EINVAL;
  if (dev->gone) {
    *error = ENODEV;
  } else if (dev->nbufs > 0 && offset >= 0 && (size_t)offset % dev->buf_length == 0 && (size_t)offset / dev->buf_length < (size_t)dev->nbufs && length <= dev->buf_length) {
    result = emu_real_mmap(addr, length, prot, flags, dev->memfd, offset);
    if (result == MAP_FAILED) *error = errno;
  }
  pthread_mutex_unlock(&dev->lock);
  return result;
}

void emu_dev_close(struct emu_dev *dev) {
  pthread_mutex_lock(&dev->lock);
  stream_off(dev);
  free_buffers(dev);
  pthread_mutex_unlock(&dev->lock);
  if (dev->wake_fd >= 0) emu_real_close(dev->wake_fd);
  emu_log("\"event\":\"close\"");
  pthread_mutex_destroy(&dev->lock);
  pthread_cond_destroy(&dev->cond);
  free(dev);
}
