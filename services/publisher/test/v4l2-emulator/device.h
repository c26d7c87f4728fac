/* The state of one open of the emulated device (device.c: buffers and streaming; controls.c: the rest). */
#ifndef CAMQTT_V4L2_EMU_DEVICE_H
#define CAMQTT_V4L2_EMU_DEVICE_H

#include "emu.h"

#include <time.h>

enum emu_buf_state { BUF_DEQUEUED, BUF_QUEUED, BUF_DONE };

struct emu_buf {
  enum emu_buf_state state;
  uint32_t bytesused;
  uint32_t sequence;
  struct timeval timestamp;
  /* CLOCK_REALTIME at the same moment, for the log. */
  int64_t real_us;
};

struct emu_dev {
  /* What the application holds: the read end of a pipe with one byte per filled buffer, so the
   * kernel's own select/poll wait for the next frame. */
  int fd;
  int wake_fd;
  int nonblocking;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  const struct emu_format *format;
  const struct emu_size *size;
  uint32_t fps;
  /* Buffers: one memfd, buf_length bytes (page aligned) each, mapped here for writing. */
  int nbufs;
  size_t buf_length;
  int memfd;
  uint8_t *memory;
  struct emu_buf bufs[EMU_MAX_BUFFERS];
  int queued[EMU_MAX_BUFFERS], nqueued;
  int done[EMU_MAX_BUFFERS], ndone;
  /* Captured, still "on the wire": done at inflight_until (CLOCK_MONOTONIC, µs). */
  int inflight[EMU_MAX_BUFFERS], ninflight;
  int64_t inflight_until[EMU_MAX_BUFFERS];
  int streaming;
  int gone;
  int stop;
  int stall_logged;
  /* DQBUF found nothing (EAGAIN) and none has succeeded since: the application waits for a frame. */
  int waiting;
  pthread_t thread;
  uint32_t sequence;
  struct emu_jpegs jpegs;
  int32_t brightness, contrast;
};

uint32_t emu_sizeimage(const struct emu_dev *dev);
int64_t emu_now_us(clockid_t clock);
/* stream.c: the camera thread, and what happens when it finds the camera unplugged (locked). */
void *emu_produce(void *dev);
void emu_mark_gone(struct emu_dev *dev);
/* Locked: the application waits for a frame (after EAGAIN) while the camera is stalled. */
void emu_log_stall(struct emu_dev *dev);
/* controls.c: QUERYCAP, formats, frame rates, inputs and controls; -ENOTTY for anything else. */
int emu_dev_control_ioctl(struct emu_dev *dev, unsigned long request, void *arg);

#endif
