/*
 * What the emulated camera offers and how it is set up, from the environment:
 *   CAMQTT_V4L2_EMU_DEVICE   the path it answers for (default /dev/video0)
 *   CAMQTT_V4L2_EMU_FORMATS  e.g. "MJPG 1280x720@30,15 640x480@30; YUYV 640x480@30,15 1280x720@10"
 *                            (formats in the order ENUM_FMT lists them; per size its frame rates,
 *                            the first being the default). Default: a typical 720p UVC webcam.
 *   CAMQTT_V4L2_EMU_JPEGS    folder with <W>x<H>/NNN.jpg: the MJPG frames, served in name order
 *   CAMQTT_V4L2_EMU_CONTROL  folder whose files switch faults on while they exist:
 *                            unplugged (node gone: ENOENT; content "keep-node": the node stays
 *                            and open gives ENODEV), busy (S_FMT/REQBUFS give EBUSY, as while
 *                            another program streams; content "open": open gives EBUSY),
 *                            stalled (no frames: a read waits in select)
 *   CAMQTT_V4L2_EMU_DELAY_MS the buffer is delivered this long after its timestamp
 *   CAMQTT_V4L2_EMU_LOG      file to append one JSON line per event (open, format, frame...)
 */
#include "emu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct emu_config emu_cfg;

static const char *DEFAULT_FORMATS =
    "MJPG 1280x720@30,25,20,15,10,5 640x480@30,25,20,15,10,5 320x240@30,25,20,15,10,5;"
    "YUYV 640x480@30,25,20,15,10,5 1280x720@10,5 320x240@30,25,20,15,10,5";

static void copy_env(char *dst, size_t cap, const char *name, const char *fallback) {
  const char *value = getenv(name);
  snprintf(dst, cap, "%s", value && *value ? value : fallback);
}

static void parse_size(struct emu_format *format, char *token) {
  if (format->nsizes >= EMU_MAX_SIZES) return;
  struct emu_size *size = &format->sizes[format->nsizes];
  char *rates = strchr(token, '@');
  if (!rates || sscanf(token, "%ux%u", &size->width, &size->height) != 2) return;
  size->nfps = 0;
  char *save = NULL;
  for (char *rate = strtok_r(rates + 1, ",", &save); rate && size->nfps < EMU_MAX_RATES; rate = strtok_r(NULL, ",", &save)) {
    unsigned value = (unsigned)strtoul(rate, NULL, 10);
    if (value > 0) size->fps[size->nfps++] = value;
  }
  if (size->nfps > 0 && size->width > 0 && size->height > 0) format->nsizes++;
}

static void parse_formats(const char *spec) {
  char copy[2048];
  snprintf(copy, sizeof copy, "%s", spec);
  char *save = NULL;
  for (char *part = strtok_r(copy, ";", &save); part && emu_cfg.nformats < EMU_MAX_FORMATS; part = strtok_r(NULL, ";", &save)) {
    while (*part == ' ') part++;
    if (strlen(part) < 4) continue;
    struct emu_format *format = &emu_cfg.formats[emu_cfg.nformats];
    format->fourcc = v4l2_fourcc(part[0], part[1], part[2], part[3]);
    format->nsizes = 0;
    char *inner = NULL;
    for (char *token = strtok_r(part + 4, " ", &inner); token; token = strtok_r(NULL, " ", &inner)) parse_size(format, token);
    if (format->nsizes > 0) emu_cfg.nformats++;
  }
}

void emu_config_load(void) {
  memset(&emu_cfg, 0, sizeof emu_cfg);
  copy_env(emu_cfg.path, sizeof emu_cfg.path, "CAMQTT_V4L2_EMU_DEVICE", "/dev/video0");
  copy_env(emu_cfg.jpeg_dir, sizeof emu_cfg.jpeg_dir, "CAMQTT_V4L2_EMU_JPEGS", "");
  copy_env(emu_cfg.control_dir, sizeof emu_cfg.control_dir, "CAMQTT_V4L2_EMU_CONTROL", "");
  copy_env(emu_cfg.log_path, sizeof emu_cfg.log_path, "CAMQTT_V4L2_EMU_LOG", "");
  const char *delay = getenv("CAMQTT_V4L2_EMU_DELAY_MS");
  emu_cfg.delay_ms = delay ? atoi(delay) : 0;
  const char *formats = getenv("CAMQTT_V4L2_EMU_FORMATS");
  parse_formats(formats && *formats ? formats : DEFAULT_FORMATS);
}

int emu_is_device_path(const char *path) {
  return path && emu_cfg.path[0] && strcmp(path, emu_cfg.path) == 0;
}

/* 1 while <control>/<name> exists; its first line goes to `content` (may be NULL). */
int emu_fault(const char *name, char *content, size_t cap) {
  if (!emu_cfg.control_dir[0]) return 0;
  char path[600];
  snprintf(path, sizeof path, "%s/%s", emu_cfg.control_dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  if (content && cap > 0) {
    ssize_t n = emu_real_read(fd, content, cap - 1);
    content[n > 0 ? n : 0] = '\0';
    content[strcspn(content, "\r\n")] = '\0';
  }
  emu_real_close(fd);
  return 1;
}

/* The device node is there unless unplugged (udev removes it) without "keep-node". */
int emu_node_present(void) {
  char content[64];
  return !emu_fault("unplugged", content, sizeof content) || strcmp(content, "keep-node") == 0;
}

const struct emu_format *emu_find_format(uint32_t fourcc) {
  for (int i = 0; i < emu_cfg.nformats; i++)
    if (emu_cfg.formats[i].fourcc == fourcc) return &emu_cfg.formats[i];
  return NULL;
}

/* uvc_v4l2_try_format's choice: the frame size closest in area to the one asked for. */
const struct emu_size *emu_nearest_size(const struct emu_format *format, uint32_t width, uint32_t height) {
  const struct emu_size *best = NULL;
  uint64_t best_distance = UINT64_MAX;
  for (int i = 0; i < format->nsizes; i++) {
    const struct emu_size *size = &format->sizes[i];
    uint64_t overlap = (uint64_t)(size->width < width ? size->width : width) * (size->height < height ? size->height : height);
    uint64_t distance = (uint64_t)size->width * size->height + (uint64_t)width * height - 2 * overlap;
    if (distance < best_distance) {
      best_distance = distance;
      best = size;
    }
  }
  return best;
}

/* uvc_try_frame_interval's choice: the offered interval nearest the one asked for. */
uint32_t emu_nearest_fps(const struct emu_size *size, uint32_t numerator, uint32_t denominator) {
  if (numerator == 0 || denominator == 0) return size->fps[0];
  double wanted = (double)numerator / denominator;
  uint32_t best = size->fps[0];
  double best_distance = 1e9;
  for (int i = 0; i < size->nfps; i++) {
    double distance = wanted - 1.0 / size->fps[i];
    if (distance < 0) distance = -distance;
    if (distance < best_distance) {
      best_distance = distance;
      best = size->fps[i];
    }
  }
  return best;
}

void emu_fourcc_text(uint32_t fourcc, char out[5]) {
  for (int i = 0; i < 4; i++) out[i] = (char)((fourcc >> (8 * i)) & 0xff);
  out[4] = '\0';
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;

/* One JSON object per line; `fmt` gives the fields after "pid". */
void emu_log(const char *fmt, ...) {
  if (!emu_cfg.log_path[0]) return;
  char line[1024];
  int n = snprintf(line, sizeof line, "{\"pid\":%d,", (int)getpid());
  va_list args;
  va_start(args, fmt);
  n += vsnprintf(line + n, sizeof line - (size_t)n - 2, fmt, args);
  va_end(args);
  if (n > (int)sizeof line - 3) n = (int)sizeof line - 3;
  line[n++] = '}';
  line[n++] = '\n';
  pthread_mutex_lock(&log_lock);
  if (log_fd < 0) log_fd = open(emu_cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (log_fd >= 0 && write(log_fd, line, (size_t)n) < 0) {
    /* A test that lost its log only loses what it would have read. */
  }
  pthread_mutex_unlock(&log_lock);
}
