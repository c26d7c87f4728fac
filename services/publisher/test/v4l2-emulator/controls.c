/*
 * The emulated camera's description and settings, as uvcvideo answers them: QUERYCAP, the
 * formats, frame sizes and intervals it offers, the format and frame rate it settles on (nearest
 * offered, never an error), its one input, and two controls (unknown ones: EINVAL).
 */
#include "device.h"

#include <errno.h>
#include <string.h>

uint32_t emu_sizeimage(const struct emu_dev *dev) {
  /* uvcvideo reports dwMaxVideoFrameBufferSize, 2 bytes a pixel for both formats here. */
  return dev->size->width * dev->size->height * 2;
}

static void fill_pix(const struct emu_dev *dev, const struct emu_format *format, const struct emu_size *size, struct v4l2_pix_format *pix) {
  memset(pix, 0, sizeof *pix);
  pix->width = size->width;
  pix->height = size->height;
  pix->pixelformat = format->fourcc;
  pix->field = V4L2_FIELD_NONE;
  pix->bytesperline = format->fourcc == V4L2_PIX_FMT_YUYV ? size->width * 2 : 0;
  pix->sizeimage = size->width * size->height * 2;
  pix->colorspace = V4L2_COLORSPACE_SRGB;
  (void)dev;
}

static int try_format(struct emu_dev *dev, struct v4l2_format *f, int apply) {
  if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return -EINVAL;
  const struct emu_format *format = emu_find_format(f->fmt.pix.pixelformat);
  if (!format) format = &emu_cfg.formats[0]; /* uvc: the default format, no error */
  const struct emu_size *size = emu_nearest_size(format, f->fmt.pix.width, f->fmt.pix.height);
  if (apply) {
    char busy[32];
    if (dev->streaming || dev->nbufs > 0) return -EBUSY;
    if (emu_fault("busy", busy, sizeof busy) && strcmp(busy, "open") != 0) return -EBUSY;
    dev->format = format;
    dev->size = size;
    dev->fps = size->fps[0];
    char text[5];
    emu_fourcc_text(format->fourcc, text);
    emu_log("\"event\":\"format\",\"fourcc\":\"%s\",\"width\":%u,\"height\":%u,\"fps\":%u", text, size->width, size->height, dev->fps);
  }
  fill_pix(dev, format, size, &f->fmt.pix);
  return 0;
}

static int stream_parm(struct emu_dev *dev, struct v4l2_streamparm *p, int set) {
  if (p->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return -EINVAL;
  if (set) {
    if (dev->streaming) return -EBUSY;
    dev->fps = emu_nearest_fps(dev->size, p->parm.capture.timeperframe.numerator, p->parm.capture.timeperframe.denominator);
    emu_log("\"event\":\"fps\",\"asked\":\"%u/%u\",\"fps\":%u", p->parm.capture.timeperframe.numerator, p->parm.capture.timeperframe.denominator, dev->fps);
  }
  memset(&p->parm, 0, sizeof p->parm);
  p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
  p->parm.capture.timeperframe.numerator = 1;
  p->parm.capture.timeperframe.denominator = dev->fps;
  return 0;
}

static int enum_format(struct v4l2_fmtdesc *d) {
  if (d->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || d->index >= (uint32_t)emu_cfg.nformats) return -EINVAL;
  const struct emu_format *format = &emu_cfg.formats[d->index];
  uint32_t index = d->index, type = d->type;
  memset(d, 0, sizeof *d);
  d->index = index;
  d->type = type;
  d->pixelformat = format->fourcc;
  int mjpg = format->fourcc == V4L2_PIX_FMT_MJPEG;
  d->flags = mjpg ? V4L2_FMT_FLAG_COMPRESSED : 0;
  strcpy((char *)d->description, mjpg ? "Motion-JPEG" : "YUYV 4:2:2");
  return 0;
}

static int enum_sizes(struct v4l2_frmsizeenum *s) {
  const struct emu_format *format = emu_find_format(s->pixel_format);
  if (!format || s->index >= (uint32_t)format->nsizes) return -EINVAL;
  s->type = V4L2_FRMSIZE_TYPE_DISCRETE;
  s->discrete.width = format->sizes[s->index].width;
  s->discrete.height = format->sizes[s->index].height;
  return 0;
}

static int enum_intervals(struct v4l2_frmivalenum *v) {
  const struct emu_format *format = emu_find_format(v->pixel_format);
  if (!format) return -EINVAL;
  for (int i = 0; i < format->nsizes; i++) {
    const struct emu_size *size = &format->sizes[i];
    if (size->width != v->width || size->height != v->height) continue;
    if (v->index >= (uint32_t)size->nfps) return -EINVAL;
    v->type = V4L2_FRMIVAL_TYPE_DISCRETE;
    v->discrete.numerator = 1;
    v->discrete.denominator = size->fps[v->index];
    return 0;
  }
  return -EINVAL;
}

static int32_t *control(struct emu_dev *dev, uint32_t id) {
  if (id == V4L2_CID_BRIGHTNESS) return &dev->brightness;
  if (id == V4L2_CID_CONTRAST) return &dev->contrast;
  return NULL;
}

static int query_control(struct v4l2_queryctrl *q) {
  uint32_t id = q->id;
  if (id & V4L2_CTRL_FLAG_NEXT_CTRL) {
    id &= ~(V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND);
    id = id < V4L2_CID_BRIGHTNESS ? V4L2_CID_BRIGHTNESS : id < V4L2_CID_CONTRAST ? V4L2_CID_CONTRAST : 0;
  }
  if (id != V4L2_CID_BRIGHTNESS && id != V4L2_CID_CONTRAST) return -EINVAL;
  memset(q, 0, sizeof *q);
  q->id = id;
  q->type = V4L2_CTRL_TYPE_INTEGER;
  strcpy((char *)q->name, id == V4L2_CID_BRIGHTNESS ? "Brightness" : "Contrast");
  q->minimum = 0;
  q->maximum = 255;
  q->step = 1;
  q->default_value = id == V4L2_CID_BRIGHTNESS ? 128 : 32;
  return 0;
}

int emu_dev_control_ioctl(struct emu_dev *dev, unsigned long request, void *arg) {
  switch (request) {
  case VIDIOC_QUERYCAP: {
    struct v4l2_capability *cap = arg;
    memset(cap, 0, sizeof *cap);
    strcpy((char *)cap->driver, "uvcvideo");
    strcpy((char *)cap->card, "camqtt emulated UVC webcam");
    strcpy((char *)cap->bus_info, "usb-0000:00:14.0-1");
    cap->version = (6 << 16) | (1 << 8);
    cap->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_EXT_PIX_FORMAT;
    cap->capabilities = cap->device_caps | V4L2_CAP_META_CAPTURE | V4L2_CAP_DEVICE_CAPS;
    return 0;
  }
  case VIDIOC_ENUM_FMT: return enum_format(arg);
  case VIDIOC_ENUM_FRAMESIZES: return enum_sizes(arg);
  case VIDIOC_ENUM_FRAMEINTERVALS: return enum_intervals(arg);
  case VIDIOC_G_FMT: {
    struct v4l2_format *f = arg;
    if (f->type != V4L2_BUF_TYPE_VIDEO_CAPTURE) return -EINVAL;
    fill_pix(dev, dev->format, dev->size, &f->fmt.pix);
    return 0;
  }
  case VIDIOC_TRY_FMT: return try_format(dev, arg, 0);
  case VIDIOC_S_FMT: return try_format(dev, arg, 1);
  case VIDIOC_G_PARM: return stream_parm(dev, arg, 0);
  case VIDIOC_S_PARM: return stream_parm(dev, arg, 1);
  case VIDIOC_G_INPUT: *(int *)arg = 0; return 0;
  case VIDIOC_S_INPUT: return *(int *)arg == 0 ? 0 : -EINVAL;
  case VIDIOC_ENUMINPUT: {
    struct v4l2_input *input = arg;
    if (input->index != 0) return -EINVAL;
    memset(input, 0, sizeof *input);
    strcpy((char *)input->name, "Camera 1");
    input->type = V4L2_INPUT_TYPE_CAMERA;
    return 0;
  }
  case VIDIOC_QUERYCTRL: return query_control(arg);
  case VIDIOC_G_CTRL:
  case VIDIOC_S_CTRL: {
    struct v4l2_control *c = arg;
    int32_t *value = control(dev, c->id);
    if (!value) return -EINVAL;
    if (request == VIDIOC_G_CTRL) c->value = *value;
    else if (c->value < 0 || c->value > 255) return -ERANGE;
    else *value = c->value;
    return 0;
  }
  default: return -ENOTTY;
  }
}
