/**
 * A live Matroska stream of JPEG frames, each with its own timestamp, for FFmpeg's stdin: the one
 * thing FFmpeg's image2pipe cannot carry is a time per frame, and Matroska can. Written here
 * because the muxer needed is ~100 lines of EBML (one track, unknown-size segment and clusters,
 * SimpleBlocks) and the npm Matroska/WebM writers are browser-oriented, buffer whole files or
 * want their own codecs.
 *
 * Timestamps are milliseconds from the first frame (TimecodeScale 1 ms). A cluster holds frames
 * whose time fits its 16-bit signed offset; the next frame that does not starts a new one.
 */

const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimecodeScale: 0x2ad7b1,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  CodecID: 0x86,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Cluster: 0x1f43b675,
  Timecode: 0xe7,
  SimpleBlock: 0xa3,
} as const;

/** The size field of a live element whose end is not known: all ones in 8 bytes. */
const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
/** A SimpleBlock's time is a signed 16-bit offset from its cluster's. */
const MAX_BLOCK_OFFSET_MS = 32_767;
const TRACK_NUMBER = 1;
const TRACK_TYPE_VIDEO = 1;
const KEYFRAME_FLAG = 0x80;

function idBytes(id: number): Buffer {
  const bytes: number[] = [];
  for (let rest = id; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from(bytes);
}

/** EBML variable-length size: the first byte's leading zeros say how many bytes follow. */
function sizeBytes(size: number): Buffer {
  for (let length = 1; length <= 8; length++) {
    // All ones is reserved for "unknown", hence the - 1.
    if (size < 2 ** (7 * length) - 1) {
      const bytes = Buffer.alloc(length);
      let rest = size;
      for (let index = length - 1; index >= 0; index--) {
        bytes[index] = rest % 256;
        rest = Math.floor(rest / 256);
      }
      bytes[0]! |= 1 << (8 - length);
      return bytes;
    }
  }
  throw new RangeError(`EBML element too large: ${size} bytes`);
}

function element(id: number, ...children: Buffer[]): Buffer {
  const body = Buffer.concat(children);
  return Buffer.concat([idBytes(id), sizeBytes(body.length), body]);
}

function uint(id: number, value: number): Buffer {
  const bytes: number[] = [];
  for (let rest = Math.round(value); rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return element(id, Buffer.from(bytes.length > 0 ? bytes : [0]));
}

function string(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}

export interface MatroskaVideo {
  width: number;
  height: number;
}

export class MatroskaWriter {
  private clusterTimeMs: number | undefined;

  /** Everything before the first frame: EBML header, Segment start, Info and the one track. */
  header({ width, height }: MatroskaVideo): Buffer {
    const ebml = element(
      ID.EBML,
      uint(ID.EBMLVersion, 1),
      uint(ID.EBMLReadVersion, 1),
      uint(ID.EBMLMaxIDLength, 4),
      uint(ID.EBMLMaxSizeLength, 8),
      string(ID.DocType, 'matroska'),
      uint(ID.DocTypeVersion, 4),
      uint(ID.DocTypeReadVersion, 2),
    );
    const info = element(
      ID.Info,
      uint(ID.TimecodeScale, 1_000_000),
      string(ID.MuxingApp, 'camqtt-recorder'),
      string(ID.WritingApp, 'camqtt-recorder'),
    );
    const tracks = element(
      ID.Tracks,
      element(
        ID.TrackEntry,
        uint(ID.TrackNumber, TRACK_NUMBER),
        uint(ID.TrackUID, 1),
        uint(ID.TrackType, TRACK_TYPE_VIDEO),
        string(ID.CodecID, 'V_MJPEG'),
        element(ID.Video, uint(ID.PixelWidth, width), uint(ID.PixelHeight, height)),
      ),
    );
    return Buffer.concat([ebml, idBytes(ID.Segment), UNKNOWN_SIZE, info, tracks]);
  }

  /** One frame at `timeMs` (ms from the first, never decreasing), with a new cluster when needed. */
  frame(jpeg: Uint8Array, timeMs: number): Buffer {
    const time = Math.max(0, Math.round(timeMs));
    const parts: Buffer[] = [];
    if (this.clusterTimeMs === undefined || time - this.clusterTimeMs > MAX_BLOCK_OFFSET_MS || time < this.clusterTimeMs) {
      this.clusterTimeMs = time;
      parts.push(idBytes(ID.Cluster), UNKNOWN_SIZE, uint(ID.Timecode, time));
    }
    const blockHeader = Buffer.alloc(4);
    blockHeader[0] = 0x80 | TRACK_NUMBER;
    blockHeader.writeInt16BE(time - this.clusterTimeMs, 1);
    blockHeader[3] = KEYFRAME_FLAG;
    parts.push(
      idBytes(ID.SimpleBlock),
      sizeBytes(blockHeader.length + jpeg.length),
      blockHeader,
      Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength),
    );
    return Buffer.concat(parts);
  }
}
