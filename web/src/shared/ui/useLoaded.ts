/**
 * A settings card's data from the server and the changes made to it: `act` runs a change, loads the
 * data again and keeps the failure — one sentence in the user's language — for the card to show
 * (`true` when the change went through). Used by the cards that list things: speed dials, the
 * blocklist, telephony users.
 */
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../api/errors';

export function useLoaded<T>(fetch: () => Promise<T>, initial: T) {
  const [data, setData] = useState<T>(initial);
  const [error, setError] = useState<string | null>(null);

  async function load() {
    try {
      setData(await fetch());
    } catch (e) {
      setError(describeError(e));
    }
  }
  useEffect(() => void load(), []);

  async function act(change: () => Promise<unknown>): Promise<boolean> {
    setError(null);
    try {
      await change();
      await load();
      return true;
    } catch (e) {
      setError(describeError(e));
      return false;
    }
  }
  return { data, error, setError, load, act };
}
