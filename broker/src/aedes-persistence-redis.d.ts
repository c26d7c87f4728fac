/** aedes-persistence-redis ships no types: the part of it the broker uses. */
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';

  /** Aedes takes the whole object as its `persistence`; camqtt itself only drops wills. */
  export interface RedisPersistence {
    delWill(client: { id: string; brokerId: string }): Promise<unknown>;
  }

  export default function aedesPersistenceRedis(options: { conn: Redis }): RedisPersistence;
}
