/*
 * camqtt's emulated V4L2 camera: an LD_PRELOAD library (test-only) that answers open, ioctl,
 * mmap, read and close for one device path like a UVC webcam driven by uvcvideo would, so the
 * real publisher with the real OpenCV can open "/dev/video0" where there is no camera.
 * Configuration is by environment (read once when the library loads): see config.c.
 */
#ifndef CAMQTT_V4L2_EMU_H
#define CAMQTT_V4L2_EMU_H

#define _GNU_SOURCE
#include <linux/videodev2.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EMU_MAX_FORMATS 4
#define EMU_MAX_SIZES 8
#define EMU_MAX_RATES 8
/* uvcvideo's UVC_MAX_VIDEO_BUFFERS */
#define EMU_MAX_BUFFERS 32

struct emu_size {
  uint32_t width, height;
  /* Frame rates offered at this size, the first being the default (uvc: dwDefaultFrameInterval). */
  uint32_t fps[EMU_MAX_RATES];
  int nfps;
};

struct emu_format {
  uint32_t fourcc;
  struct emu_size sizes[EMU_MAX_SIZES];
  int nsizes;
};

struct emu_config {
  char path[256];
  struct emu_format formats[EMU_MAX_FORMATS];
  int nformats;
  char jpeg_dir[512];
  char control_dir[512];
  char log_path[512];
  /* Time between the buffer's timestamp and its delivery (a slow USB transfer). */
  int delay_ms;
};

extern struct emu_config emu_cfg;

/* config.c */
void emu_config_load(void);
int emu_is_device_path(const char *path);
int emu_fault(const char *name, char *content, size_t cap);
int emu_node_present(void);
const struct emu_format *emu_find_format(uint32_t fourcc);
const struct emu_size *emu_nearest_size(const struct emu_format *format, uint32_t width, uint32_t height);
uint32_t emu_nearest_fps(const struct emu_size *size, uint32_t numerator, uint32_t denominator);
void emu_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void emu_fourcc_text(uint32_t fourcc, char out[5]);

/* frames.c */
struct emu_jpegs {
  uint8_t **data;
  size_t *length;
  int count;
};
int emu_jpegs_load(struct emu_jpegs *jpegs, uint32_t width, uint32_t height, size_t max_length);
void emu_jpegs_free(struct emu_jpegs *jpegs);
void emu_yuyv_fill(uint8_t *dst, uint32_t width, uint32_t height, uint32_t sequence);

/* device.c */
struct emu_dev;
struct emu_dev *emu_dev_open(int flags, int *error);
int emu_dev_fd(const struct emu_dev *dev);
int emu_dev_ioctl(struct emu_dev *dev, unsigned long request, void *arg);
void *emu_dev_mmap(struct emu_dev *dev, void *addr, size_t length, int prot, int flags, off_t offset, int *error);
void emu_dev_close(struct emu_dev *dev);

/* interpose.c: the C library's own functions, past this library. */
int emu_real_close(int fd);
ssize_t emu_real_read(int fd, void *buf, size_t count);
void *emu_real_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);

#endif
