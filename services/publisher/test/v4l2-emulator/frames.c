/*
 * The pictures the emulated camera serves: MJPG frames are real JPEG files a test wrote (each with
 * its visible frame number), served in name order and round again; YUYV frames are drawn here:
 * a red band on top (so a swapped U/V shows), grey below with the frame sequence number in white.
 */
#include "emu.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_jpeg_name(const struct dirent *entry) {
  size_t n = strlen(entry->d_name);
  return n > 4 && strcmp(entry->d_name + n - 4, ".jpg") == 0;
}

static int read_file(const char *path, uint8_t **data, size_t *length) {
  FILE *file = fopen(path, "rb");
  if (!file) return -1;
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  *data = size > 0 ? malloc((size_t)size) : NULL;
  int ok = *data && fread(*data, 1, (size_t)size, file) == (size_t)size;
  fclose(file);
  if (!ok) {
    free(*data);
    return -1;
  }
  *length = (size_t)size;
  return 0;
}

/* Loads <jpeg_dir>/<W>x<H>/NNN.jpg; 0 when at least one frame fits a buffer of `max_length`. */
int emu_jpegs_load(struct emu_jpegs *jpegs, uint32_t width, uint32_t height, size_t max_length) {
  memset(jpegs, 0, sizeof *jpegs);
  char dir[700];
  snprintf(dir, sizeof dir, "%s/%ux%u", emu_cfg.jpeg_dir, width, height);
  struct dirent **names = NULL;
  int n = emu_cfg.jpeg_dir[0] ? scandir(dir, &names, is_jpeg_name, alphasort) : -1;
  if (n <= 0) {
    fprintf(stderr, "v4l2-emu: no MJPG frames for %ux%u: no .jpg files in %s (CAMQTT_V4L2_EMU_JPEGS)\n", width, height, dir);
    free(names);
    return -1;
  }
  jpegs->data = calloc((size_t)n, sizeof *jpegs->data);
  jpegs->length = calloc((size_t)n, sizeof *jpegs->length);
  for (int i = 0; i < n; i++) {
    char path[1000];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
    uint8_t *data = NULL;
    size_t length = 0;
    if (read_file(path, &data, &length) != 0) {
      fprintf(stderr, "v4l2-emu: cannot read %s: skipped\n", path);
    } else if (length > max_length) {
      fprintf(stderr, "v4l2-emu: %s is larger than a buffer (%zu bytes): skipped\n", path, max_length);
      free(data);
    } else {
      jpegs->data[jpegs->count] = data;
      jpegs->length[jpegs->count++] = length;
    }
    free(names[i]);
  }
  free(names);
  return jpegs->count > 0 ? 0 : -1;
}

void emu_jpegs_free(struct emu_jpegs *jpegs) {
  for (int i = 0; i < jpegs->count; i++) free(jpegs->data[i]);
  free(jpegs->data);
  free(jpegs->length);
  memset(jpegs, 0, sizeof *jpegs);
}

/* 3x5 digits, one row per byte, bit 2 = left column. */
static const uint8_t DIGITS[10][5] = {
    {7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
    {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7},
};

static void fill_rows(uint8_t *dst, uint32_t width, uint32_t from, uint32_t to, uint8_t y, uint8_t u, uint8_t v) {
  for (uint32_t row = from; row < to; row++) {
    uint8_t *p = dst + (size_t)row * width * 2;
    for (uint32_t x = 0; x + 1 < width; x += 2, p += 4) {
      p[0] = y;
      p[1] = u;
      p[2] = y;
      p[3] = v;
    }
  }
}

void emu_yuyv_fill(uint8_t *dst, uint32_t width, uint32_t height, uint32_t sequence) {
  uint32_t band = height / 3;
  fill_rows(dst, width, 0, band, 81, 90, 240); /* BT.601 red */
  fill_rows(dst, width, band, height, 128, 128, 128);
  char text[16];
  int len = snprintf(text, sizeof text, "%u", sequence);
  uint32_t cell = height / 12 > 1 ? height / 12 : 1;
  uint32_t top = band + cell;
  for (int i = 0; i < len; i++) {
    const uint8_t *glyph = DIGITS[text[i] - '0'];
    for (uint32_t gy = 0; gy < 5 * cell && top + gy < height; gy++) {
      for (uint32_t gx = 0; gx < 3 * cell; gx++) {
        uint32_t x = cell + (uint32_t)i * 4 * cell + gx;
        if (x >= width || !(glyph[gy / cell] & (4 >> (gx / cell)))) continue;
        dst[((size_t)(top + gy) * width + x) * 2] = 235;
      }
    }
  }
}
