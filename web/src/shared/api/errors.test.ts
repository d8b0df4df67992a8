import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from './client';
import { describeError } from './errors';
import { setLang } from '../i18n';

describe('describeError', () => {
  afterEach(() => setLang('en'));

  it('explains known codes in the user’s language', () => {
    const e = new ApiError(409, 'last_admin', 'this would leave no active administrator');
    setLang('en');
    expect(describeError(e)).toMatch(/without an active administrator.*Make another user an administrator/);
    setLang('ru');
    expect(describeError(e)).toMatch(/не останется активного администратора/);
  });

  it('gives the wait time of a throttled login with the right plural', () => {
    setLang('ru');
    expect(describeError(new ApiError(429, 'throttled', 'x', 5))).toContain('через 5 секунд.');
    expect(describeError(new ApiError(429, 'throttled', 'x', 21))).toContain('через 21 секунду.');
  });

  it('keeps the server’s detail where the code alone is not enough', () => {
    expect(describeError(new ApiError(422, 'weak_password', 'password must contain at least 5 different characters')))
      .toBe('The server refused the password: password must contain at least 5 different characters. Choose another one.');
    expect(describeError(new ApiError(422, 'something_new', 'frobnicator is off'))).toBe('The server refused the request: frobnicator is off');
  });

  it('explains the queue editor\'s refusals in both languages, naming what the server named', () => {
    const taken = new ApiError(409, 'duplicate_name', 'name: a queue named Support exists');
    expect(describeError(taken)).toBe('This name is already taken (name: a queue named Support exists). Choose another one.');
    expect(describeError(new ApiError(422, 'no_members', 'members: a queue needs at least one user or access group'))).toMatch(/^Choose at least one member/);
    setLang('ru');
    expect(describeError(taken)).toBe('Это название уже занято (name: a queue named Support exists). Выберите другое.');
    expect(describeError(new ApiError(422, 'invalid_ring_secs', 'ring_secs: 5 to 120'))).toBe('Время вызова участника: от 5 до 120 секунд.');
  });

  it('explains the integrations refusals (issue #21) in both languages', () => {
    const placeholder = new ApiError(422, 'unknown_placeholder', 'unknown placeholder {phone}');
    expect(describeError(placeholder)).toBe('The template has a placeholder callbase does not know (unknown placeholder {phone}). Use only the placeholders below.');
    expect(describeError(new ApiError(422, 'insecure_url', 'http://x is not https'))).toBe('The address must start with https:// (http://x is not https).');
    setLang('ru');
    expect(describeError(placeholder)).toMatch(/^В шаблоне подстановка, которую callbase не знает \(unknown placeholder \{phone\}\)/);
    for (const code of ['unknown_scope', 'invalid_network', 'invalid_expiry', 'invalid_rate', 'admins_only', 'invalid_url', 'private_address', 'unknown_event', 'too_many_webhooks']) {
      expect(describeError(new ApiError(422, code, 'x'))).not.toMatch(/^The server refused|^Сервер/);
    }
  });

  it('never shows internals of a 5xx and says what to do on network errors', () => {
    expect(describeError(new ApiError(503, 'whatever', 'stack trace'))).toMatch(/^Something went wrong on the server/);
    expect(describeError(new ApiError(0, 'network', 'Failed to fetch'))).toMatch(/Cannot reach the server/);
    expect(describeError(new Error('boom'))).toMatch(/^Something went wrong/);
  });
});
