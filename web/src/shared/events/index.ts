/**
 * Live events of the signed-in user's tenant: the tab's one `/events` socket ({@link subscribe})
 * and the notices its close codes raise ({@link onSocketNotice}).
 */
import { createEventBus } from './bus';

const tabBus = createEventBus();

/** Subscribes to the tab's `/events` socket (opening it if needed); returns the unsubscribe function. */
export const subscribe = tabBus.subscribe;

export { createEventBus, eventsUrl, type BusOptions, type EventBus, type SubscribeOptions, type Unsubscribe } from './bus';
export * from './notices';
export * from './types';
