/**
 * Where inbound calls go (issue #19): the queues, the voice menus and each line's first step, one
 * card after the other. Each card reads its own data; when a queue or a menu is saved or deleted,
 * the cards that point at them read again — a menu's digits and the first steps offer the new
 * queue or menu, and show the deleted one as `gone`.
 */
import { useState } from 'preact/hooks';
import { QueuesForm } from './QueuesForm';
import { MenusForm } from './MenusForm';
import { FirstStepsForm } from './FirstStepsForm';

export function CallFlow() {
  const [queuesVersion, setQueuesVersion] = useState(0);
  const [menusVersion, setMenusVersion] = useState(0);
  return (
    <>
      <QueuesForm onChanged={() => setQueuesVersion((v) => v + 1)} />
      <MenusForm version={queuesVersion} onChanged={() => setMenusVersion((v) => v + 1)} />
      {/* Both only grow: the sum changes whenever either does. */}
      <FirstStepsForm version={queuesVersion + menusVersion} />
    </>
  );
}
