/*
 * The emulated camera itself, while streaming: a thread that fills the oldest queued buffer at
 * each frame interval, stamps it with CLOCK_MONOTONIC at the start of the frame as uvcvideo does
 * (V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC), hands it over CAMQTT_V4L2_EMU_DELAY_MS later and makes the
 * fd readable; it notices the control files (unplugged, stalled) at each frame.
 */
#include "device.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t emu_now_us(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Locked. The device went away: wake anyone in select/poll with a hang-up, as v4l2 core does. */
void emu_mark_gone(struct emu_dev *dev) {
  if (dev->gone) return;
  dev->gone = 1;
  char drain[64];
  while (emu_real_read(dev->fd, drain, sizeof drain) > 0) {
  }
  emu_real_close(dev->wake_fd);
  dev->wake_fd = -1;
  pthread_cond_broadcast(&dev->cond);
  emu_log("\"event\":\"unplugged\"");
}

static void fill_buffer(struct emu_dev *dev, int index, uint32_t sequence) {
  uint8_t *dst = dev->memory + (size_t)index * dev->buf_length;
  if (dev->format->fourcc == V4L2_PIX_FMT_MJPEG) {
    int which = (int)(sequence % (uint32_t)dev->jpegs.count);
    memcpy(dst, dev->jpegs.data[which], dev->jpegs.length[which]);
    dev->bufs[index].bytesused = (uint32_t)dev->jpegs.length[which];
  } else {
    emu_yuyv_fill(dst, dev->size->width, dev->size->height, sequence);
    dev->bufs[index].bytesused = emu_sizeimage(dev);
  }
}

/* Locked. Stalled while the application waits for a frame (in select or poll, after EAGAIN). */
void emu_log_stall(struct emu_dev *dev) {
  dev->stall_logged = 1;
  emu_log("\"event\":\"waiting-stalled\"");
}

static struct timespec at_us(int64_t us) {
  struct timespec t = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
  return t;
}

/* Locked. A captured buffer whose transfer is over: done, and the fd readable. */
static void deliver(struct emu_dev *dev) {
  int index = dev->inflight[0];
  memmove(dev->inflight, dev->inflight + 1, sizeof(int) * (size_t)--dev->ninflight);
  memmove(dev->inflight_until, dev->inflight_until + 1, sizeof(int64_t) * (size_t)dev->ninflight);
  struct emu_buf *buf = &dev->bufs[index];
  buf->state = BUF_DONE;
  dev->done[dev->ndone++] = index;
  if (write(dev->wake_fd, "f", 1) < 0) {
    /* Cannot happen: the pipe holds far more than EMU_MAX_BUFFERS bytes. */
  }
  pthread_cond_broadcast(&dev->cond);
  int64_t mono = (int64_t)buf->timestamp.tv_sec * 1000000 + buf->timestamp.tv_usec;
  emu_log("\"event\":\"frame\",\"sequence\":%u,\"index\":%d,\"bytes\":%u,\"monoUs\":%lld,\"realUs\":%lld,\"deliveredRealUs\":%lld",
          buf->sequence, index, buf->bytesused, (long long)mono, (long long)buf->real_us, (long long)emu_now_us(CLOCK_REALTIME));
}

/* Locked. The frame due now: into the oldest queued buffer, stamped now (start of frame). */
static void capture(struct emu_dev *dev) {
  uint32_t sequence = dev->sequence++;
  if (dev->nqueued == 0) {
    emu_log("\"event\":\"dropped\",\"sequence\":%u", sequence);
    return;
  }
  int index = dev->queued[0];
  memmove(dev->queued, dev->queued + 1, sizeof(int) * (size_t)--dev->nqueued);
  int64_t mono = emu_now_us(CLOCK_MONOTONIC);
  struct emu_buf *buf = &dev->bufs[index];
  buf->sequence = sequence;
  buf->timestamp.tv_sec = mono / 1000000;
  buf->timestamp.tv_usec = mono % 1000000;
  buf->real_us = emu_now_us(CLOCK_REALTIME);
  fill_buffer(dev, index, sequence);
  dev->inflight[dev->ninflight] = index;
  dev->inflight_until[dev->ninflight++] = mono + (int64_t)emu_cfg.delay_ms * 1000;
}

/* The camera: a frame every interval, each delivered CAMQTT_V4L2_EMU_DELAY_MS after its stamp. */
void *emu_produce(void *arg) {
  struct emu_dev *dev = arg;
  pthread_mutex_lock(&dev->lock);
  int64_t due = emu_now_us(CLOCK_MONOTONIC);
  while (!dev->stop) {
    int64_t wake = dev->ninflight > 0 && dev->inflight_until[0] < due ? dev->inflight_until[0] : due;
    struct timespec until = at_us(wake);
    while (!dev->stop && pthread_cond_timedwait(&dev->cond, &dev->lock, &until) != ETIMEDOUT) {
    }
    if (dev->stop) break;
    if (emu_fault("unplugged", NULL, 0)) {
      emu_mark_gone(dev);
      break;
    }
    int64_t now = emu_now_us(CLOCK_MONOTONIC);
    while (dev->ninflight > 0 && dev->inflight_until[0] <= now) deliver(dev);
    if (now < due) continue;
    due += 1000000 / (int64_t)dev->fps;
    if (due < now) due = now; /* fell behind (a paused process): no burst of catch-up frames */
    if (emu_fault("stalled", NULL, 0)) {
      if (dev->waiting && !dev->stall_logged) emu_log_stall(dev);
      continue;
    }
    dev->stall_logged = 0;
    capture(dev);
    if (emu_cfg.delay_ms <= 0 && dev->ninflight > 0) deliver(dev);
  }
  pthread_mutex_unlock(&dev->lock);
  return NULL;
}

