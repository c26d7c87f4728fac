/**
 * Every setting of every camqtt service, by its one environment-variable name. A service lists
 * the names it reads and gets a typed, validated object back; a wrong value throws a ConfigError
 * whose message is one line naming the variable (see `runService`).
 */
import { z } from 'zod';
import { CAMERA_ID_PATTERN, TOPIC_PREFIX_PATTERN } from '@camqtt/wire';
import { recorderSettings } from './recorder-settings.js';
import { bool, hostList, int, mqttUrl, port, portOrOff, setting, text, trustProxy } from './setting-values.js';

export const settings = {
  LOG_LEVEL: setting(
    'Log level: trace, debug, info, warn, error, fatal or silent.',
    'info',
    z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
      error: 'must be one of trace, debug, info, warn, error, fatal, silent',
    }),
  ),
  TOPIC_PREFIX: setting(
    'First topic level(s): topics are <prefix>/<camera>/frame|status|control.',
    'camqtt',
    z.string().regex(TOPIC_PREFIX_PATTERN, { error: 'must be plain topic levels (letters, digits, _ and -, separated by /)' }),
  ),

  MQTT_URL: setting(
    'Broker to connect to: mqtt://host:1883, or mqtts://host:8883 for TLS (a cloud broker works the same).',
    'mqtt://localhost:1883',
    mqttUrl,
  ),
  MQTT_USERNAME: setting('Broker account name (empty: connect without one).', '', text),
  MQTT_PASSWORD: setting('Broker account password. Prefer MQTT_PASSWORD_FILE.', '', text),
  MQTT_PASSWORD_FILE: setting('File holding the password (used when MQTT_PASSWORD is empty).', '', text),
  MQTT_PROTOCOL_VERSION: setting(
    'MQTT protocol version: auto (MQTT 5 where the broker speaks it, else 3.1.1, with one log line), 5 or 4 (3.1.1).',
    'auto',
    z.enum(['auto', '5', '4'], { error: 'must be auto, 5 or 4' }),
  ),
  MQTT_CA_FILE: setting(
    "PEM CA certificate(s) an mqtts:// broker's certificate may also be signed by, besides the system CAs (empty: the system CAs alone). Verification is always on.",
    '',
    text,
  ),

  CAMERA_ID: setting(
    "This camera's id: one topic level, letters, digits, _ and -.",
    'cam1',
    z.string().regex(CAMERA_ID_PATTERN, { error: 'must be 1-64 letters, digits, _ or -, starting with a letter or digit' }),
  ),
  CAMERA_SOURCE: setting(
    'What to capture: a device path (/dev/video0) or index (0), a video file, an rtsp:// or http(s):// URL, or testsrc (built-in moving test pattern).',
    '/dev/video0',
    z.string().min(1, { error: 'must not be empty' }),
  ),
  VIDEO_WIDTH: setting('Published frame width in pixels.', '640', int(16, 7680)),
  VIDEO_HEIGHT: setting('Published frame height in pixels.', '480', int(16, 4320)),
  VIDEO_FPS: setting('Most frames per second to publish.', '30', int(1, 120)),
  VIDEO_MAX_WIDTH: setting(
    "Widest frame a control command may ask for (the publisher caps commands at it, and never scales past the source's own size; the relay caps the commands it forwards). VIDEO_WIDTH must not be over it.",
    '1920',
    int(16, 7680),
  ),
  VIDEO_MAX_HEIGHT: setting(
    'Tallest frame a control command may ask for (see VIDEO_MAX_WIDTH). VIDEO_HEIGHT must not be over it.',
    '1080',
    int(16, 4320),
  ),
  VIDEO_MAX_FPS: setting(
    'Most frames per second a control command may ask for (publisher and relay cap commands at it). VIDEO_FPS must not be over it.',
    '60',
    int(1, 120),
  ),
  JPEG_QUALITY: setting('JPEG quality, 1 (smallest) to 100 (best).', '60', int(1, 100)),
  STATUS_INTERVAL_S: setting('Seconds between retained status updates.', '5', int(1, 3600)),
  VIDEO_LOOP: setting(
    'Video file only: start again at the end (false: publish it once, then report the end in the status and stay idle).',
    'true',
    bool,
  ),
  VIDEO_OVERLAY: setting('Draw the camera id and the capture time onto every frame.', 'false', bool),
  TESTSRC_LARGE_CLOCK: setting(
    'testsrc only: draw the clock across the whole frame width, large enough to read by eye on a screen across the room.',
    'false',
    bool,
  ),
  CAPTURE_PASSTHROUGH: setting(
    'When the source already delivers JPEG (MJPG camera, MJPEG stream or file) at VIDEO_WIDTH x VIDEO_HEIGHT and no overlay is drawn, publish its JPEGs as they are (no decode and re-encode) until a quality command or the size cap asks for re-encoding.',
    'true',
    bool,
  ),
  SNAPSHOT_QUALITY: setting('JPEG quality of a frame sent in answer to a {"snapshot":true} command.', '95', int(1, 100)),
  FRAME_EXPIRY_S: setting(
    'MQTT 5 only: seconds a frame may wait in a broker before it is dropped instead of delivered late (message expiry).',
    '2',
    int(1, 3600),
  ),
  MQTT_MAX_PAYLOAD_BYTES: setting(
    'Largest frame the publisher sends (cloud brokers refuse messages over about 1 MB): a bigger frame is re-encoded at a lower quality, never sent oversize.',
    '1000000',
    int(1024, 268435455),
  ),
  MQTT_MAX_MESSAGES_PER_S: setting(
    'Most messages per second the broker allows one client (EMQX Cloud Serverless: 10); the publisher caps its fps at it, with a warning. 0: no limit.',
    '0',
    int(0, 100000),
  ),

  HA_DISCOVERY: setting(
    'Announce each camera to Home Assistant (MQTT discovery: a camera entity with availability), and publish a retained still for it.',
    'true',
    bool,
  ),
  HA_DISCOVERY_PREFIX: setting(
    "Home Assistant's discovery prefix (its MQTT integration's setting).",
    'homeassistant',
    z.string().regex(TOPIC_PREFIX_PATTERN, { error: 'must be plain topic levels (letters, digits, _ and -, separated by /)' }),
  ),
  HA_IMAGE_INTERVAL_S: setting(
    "Seconds between the retained stills on <prefix>/<camera>/image that Home Assistant's camera shows.",
    '10',
    int(1, 3600),
  ),
  WEB_PUBLIC_URL: setting(
    "Where people open the viewer page, for links to it (Home Assistant's device page links a camera there). Empty: http://localhost:<WEB_PORT>.",
    '',
    z.union([z.literal(''), z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })]),
  ),
  PUBLISHER_HEALTH_FILE: setting(
    'A file the publisher rewrites every 5 s while connected to the broker, for a container health check to read its age (docker compose sets it). Empty: none.',
    '',
    text,
  ),

  BROKER_HOST: setting('Address the bundled broker listens on (0.0.0.0 for every interface).', '127.0.0.1', text),
  BROKER_MQTT_PORT: setting(
    'Plain MQTT port of the bundled broker (0: any free port; off: no plain listener, TLS only).',
    '1883',
    portOrOff,
  ),
  BROKER_MQTTS_PORT: setting('MQTT over TLS port of the bundled broker (0: any free port).', '8883', port),
  BROKER_HTTP_PORT: setting("Port of the broker's /healthz and /metrics (0: any free port).", '9883', port),
  BROKER_TLS_CERT_FILE: setting('PEM server certificate for the TLS listener (empty: the provisioned one, or no TLS).', '', text),
  BROKER_TLS_KEY_FILE: setting('PEM private key for BROKER_TLS_CERT_FILE.', '', text),
  BROKER_USERS_FILE: setting('Password file, Mosquitto format (user:$7$...). Empty: the provisioned one.', '', text),
  BROKER_ACL_FILE: setting('Access rules, Mosquitto ACL format. Empty: the provisioned one.', '', text),
  BROKER_ALLOW_ANONYMOUS: setting('Let clients connect without an account (they get no access unless a rule grants it).', 'false', bool),
  BROKER_MAX_PACKET_BYTES: setting(
    'Largest MQTT packet the broker accepts; bigger ones close the connection.',
    '2097152',
    int(1024, 268435455),
  ),
  BROKER_MAX_CONNECTIONS: setting(
    'Most client connections (MQTT and MQTTS together) the broker keeps open. When full, the oldest connection not logged in yet (from the address holding the most) is closed to make room; only when all are logged in is a new one closed.',
    '1000',
    int(1, 1000000),
  ),
  BROKER_MAX_CONNECTIONS_PER_ADDRESS: setting(
    'Most open connections from one client address (MQTT and MQTTS together); more are closed at once. Clients behind one NAT or proxy share an address.',
    '100',
    int(1, 1000000),
  ),
  BROKER_MAX_CONNECTION_RATE_PER_ADDRESS: setting(
    'Most new connections one client address may open per second (bursts up to as many); more are closed at once, before TLS. 0: no limit.',
    '50',
    int(0, 1000000),
  ),
  BROKER_CONNECT_TIMEOUT_MS: setting(
    'Milliseconds a new connection has to finish TLS and send CONNECT before it is closed.',
    '10000',
    int(100, 600000),
  ),
  BROKER_MAX_CLIENT_BACKLOG_BYTES: setting(
    'Unsent bytes a client may have queued: above it QoS 0 messages to it are dropped, at 4 times it the client is disconnected.',
    '4194304',
    int(65536, 1073741824),
  ),
  BROKER_REDIS_URL: setting(
    'Join a cluster of brokers through this Redis (redis://host:6379, rediss:// for TLS): messages, retained messages and sessions are shared with every broker on it. Empty: a broker of its own.',
    '',
    z.string().regex(/^(|rediss?:\/\/[^\s]+)$/, { error: 'must be empty or a redis:// or rediss:// URL' }),
  ),
  BROKER_REDIS_PASSWORD_FILE: setting('File holding the Redis password (used when BROKER_REDIS_URL has none).', '', text),
  BROKER_PROVISION_DIR: setting(
    'If set, first start creates here whatever is missing: a CA and server certificate, the users and ACL files, and a random password per account in passwords/<user>.',
    '',
    text,
  ),
  BROKER_PROVISION_ACCOUNTS: setting(
    'Accounts first start creates, as user:role (roles: camera, relay, recorder, homeassistant, admin), comma-separated. Empty: <CAMERA_ID>:camera,relay:relay,recorder:recorder,homeassistant:homeassistant.',
    '',
    text,
  ),
  BROKER_PROVISION_EXPORT: setting(
    "Copies each named account's provisioned password and the CA certificate into a folder of its own, user:/folder comma-separated (docker compose mounts each folder into one service only). Empty: none.",
    '',
    text,
  ),
  BROKER_TLS_HOSTNAMES: setting(
    'Names and addresses the provisioned server certificate is valid for, comma-separated.',
    'broker,localhost,127.0.0.1',
    text,
  ),

  WEB_HOST: setting('Address the viewer page and relay listen on (0.0.0.0 for every interface).', '127.0.0.1', text),
  WEB_PORT: setting('Port of the viewer page and relay (0: any free port).', '8080', port),
  WEB_ALLOWED_ORIGINS: setting(
    "Other origins (e.g. https://cams.example.com behind a reverse proxy) whose pages may open the viewer WebSocket, comma-separated; the relay's own origin is always allowed.",
    '',
    text,
  ),
  WEB_ALLOWED_HOSTS: setting(
    'Host names (no port) the relay answers to without a viewer login, besides localhost, 127.0.0.1 and [::1], comma-separated (e.g. a LAN name); other names get 403, so a DNS-rebinding page cannot reach it. With a login every name is served.',
    '',
    hostList,
  ),
  WEB_TRUST_PROXY: setting(
    "Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto the relay believes (the client address for the login throttle, the session cookie's Secure flag): false, true (any: only if nothing else can reach the relay), a number of proxy hops, or addresses and subnets, comma-separated (loopback, uniquelocal, 10.0.0.0/8).",
    'false',
    trustProxy,
  ),
  WEB_FRAMES_WATCHED_ONLY: setting(
    "Take from the broker only the frames of the cameras a viewer of this relay watches (in a cluster, a camera's frames then reach only the brokers where it is watched; a snapshot of an unwatched camera is then 404); false: every camera's.",
    'false',
    bool,
  ),
  WEB_SECRET_FILE: setting(
    'File holding the random secret the viewer session cookies are signed with (VIEWER_PASSWORD and VIEWER_USERS_FILE logins; made, mode 0600, on first start if missing; keep it to keep sessions across restarts, share it to keep them across relays). A relative path is taken from the working directory.',
    '.camqtt/web-secret',
    z.string().min(1),
  ),
  VIEWER_PASSWORD: setting(
    'Password for the viewer page, API, WebSocket, MJPEG streams and snapshots (login form, or HTTP basic auth with any user name). Empty: no login, so keep WEB_HOST on 127.0.0.1.',
    '',
    text,
  ),
  VIEWER_PASSWORD_FILE: setting('File holding the viewer password (used when VIEWER_PASSWORD is empty).', '', text),
  VIEWER_USERS_FILE: setting(
    'Viewer accounts, Mosquitto password-file format (user:$7$..., written by scripts/mqtt-user.ts or mosquitto_passwd): the login form asks for a user name and HTTP basic auth checks user and password. Re-read when it changes. Works alone or together with VIEWER_PASSWORD.',
    '',
    text,
  ),
  VIEWER_CONTROL: setting(
    "Let viewers change a camera's fps, quality, size and pause from the page (POST /api/cameras/<id>/control).",
    'true',
    bool,
  ),
  VIEWER_CONTROL_USERS: setting(
    'Only these VIEWER_USERS_FILE accounts may control cameras, comma-separated (the shared VIEWER_PASSWORD then may not). Empty: every viewer may, when VIEWER_CONTROL=true.',
    '',
    text,
  ),
  VIEWER_CAMERA_USERS: setting(
    "These VIEWER_USERS_FILE accounts may publish their device's camera from the page, comma-separated; each as camera browser-<user> (the relay's MQTT account publishes for them). Empty: nobody.",
    '',
    text,
  ),
  // The recorder's and motion's own: recorder-settings.ts.
  ...recorderSettings,
} as const;

export type SettingName = keyof typeof settings;
export type Config<K extends SettingName> = { [P in K]: z.output<(typeof settings)[P]['schema']> };
