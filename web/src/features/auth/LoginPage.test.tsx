import { render } from 'preact';
import { act } from 'preact/test-utils';
import { describe, expect, it, vi } from 'vitest';
import { setLang } from '../../shared/i18n';
import { LoginPage } from './LoginPage';
import { setSoundEnv } from '../phone/unlock';
import { ME } from '../../test/fixtures';
import { flush, json, pageHarness } from '../../test/harness';

const h = pageHarness();
const { serve, type, submit, button } = h;

describe('LoginPage', () => {
  it('checks the fields before calling the server', async () => {
    serve(() => json(500, {}));
    render(<LoginPage onLoggedIn={() => undefined} />, h.root);
    await type('#login-account', '');
    await submit();
    expect(h.sent()).toEqual([]);
    expect(h.root.querySelector('#login-account')!.getAttribute('aria-invalid')).toBe('true');
    expect(h.root.textContent).toContain('Fill in this field.');
  });

  it('disables the form while signing in and shows the server’s refusal in words', async () => {
    let answer!: (r: Response) => void;
    serve(() => new Promise<Response>((r) => (answer = r)));
    render(<LoginPage onLoggedIn={() => undefined} />, h.root);
    await type('#login-account', 'demo');
    await type('#login-login', 'admin');
    await type('#login-password', 'wrong password');
    await submit();
    expect(h.root.querySelector('fieldset')!.disabled).toBe(true);
    expect(button('Signing in…')).toBeTruthy();
    await act(async () => answer(json(401, { code: 'bad_credentials', message: 'the account, login or password is wrong' })));
    await flush();
    expect(h.root.querySelector('fieldset')!.disabled).toBe(false);
    expect(h.root.querySelector('[role=alert]')!.textContent).toContain('The account, login or password is wrong');
    expect(h.sent()).toEqual(['POST /api/auth/login']);
    // A message already on screen follows a language switch (the app re-renders on a switch).
    await act(() => {
      setLang('ru');
      render(<LoginPage onLoggedIn={() => undefined} />, h.root);
    });
    await flush();
    expect(h.root.querySelector('[role=alert]')!.textContent).toContain('Неверное имя аккаунта, логин или пароль');
  });

  it('shows how long to wait after too many attempts, in Russian too', async () => {
    serve(() => json(429, { code: 'throttled', message: 'try again in 3 s' }, { 'Retry-After': '3' }));
    setLang('ru');
    render(<LoginPage onLoggedIn={() => undefined} />, h.root);
    await type('#login-account', 'demo');
    await type('#login-login', 'admin');
    await type('#login-password', 'whatever-1');
    await submit();
    expect(h.root.textContent).toContain('Повторите через 3 секунды.');
    expect(button('Войти').disabled).toBe(true);
  });

  it('asks for the authenticator code after a right password, and sends it with the password', async () => {
    const bodies: unknown[] = [];
    serve((_m, _u, body) => {
      bodies.push(body);
      const b = body as { code?: string };
      if (!b.code) return json(401, { code: 'two_factor_required', message: 'enter the code' });
      if (b.code === '111111') return json(401, { code: 'two_factor_invalid', message: 'wrong' });
      return json(200, ME);
    });
    const done = vi.fn();
    render(<LoginPage onLoggedIn={done} />, h.root);
    await type('#login-account', 'demo');
    await type('#login-login', 'admin');
    await type('#login-password', 'correct horse');
    await submit();
    expect(h.root.querySelector('#login-code')).toBeTruthy();
    expect(h.root.querySelector('[role=alert]')).toBeNull();
    await type('#login-code', '111111');
    await submit();
    expect(h.root.querySelector('[role=alert]')!.textContent).toContain('That code is wrong or was already used');
    await type('#login-code', '654321');
    await submit();
    expect(done).toHaveBeenCalledWith(ME);
    expect(bodies[2]).toEqual({ account: 'demo', login: 'admin', password: 'correct horse', code: '654321' });
  });

  it('hands the signed-in user over', async () => {
    serve(() => json(200, ME));
    const done = vi.fn();
    render(<LoginPage onLoggedIn={done} />, h.root);
    await type('#login-account', 'Demo');
    await type('#login-login', 'admin');
    await type('#login-password', 'correct horse');
    await submit();
    expect(done).toHaveBeenCalledWith(ME);
  });

  it('unlocks sound in the sign-in click itself, before the server answers', async () => {
    const order: string[] = [];
    const ctx = { state: 'suspended', resume: () => (order.push('resume'), Promise.resolve()), addEventListener: () => undefined,
      createMediaStreamDestination: () => ({ stream: {} }) };
    setSoundEnv({
      createContext: () => (order.push('context'), ctx as unknown as AudioContext),
      createAudio: () => {
        const el = document.createElement('audio');
        el.play = () => (order.push('play'), Promise.resolve());
        el.pause = () => undefined;
        return el;
      },
    });
    try {
      serve(() => (order.push('POST'), new Promise<Response>(() => undefined)));
      render(<LoginPage onLoggedIn={() => undefined} />, h.root);
      await type('#login-account', 'demo');
      await type('#login-login', 'admin');
      await type('#login-password', 'correct horse');
      await submit();
      expect(order).toEqual(['context', 'resume', 'play', 'play', 'POST']);
    } finally {
      setSoundEnv(null);
    }
  });
});
