import { describe, expect, it } from 'vitest';
import { checkAccount, checkEmail, checkGroupName, checkLogin, checkName, checkPassword, validate } from './validation';

// The same cases as the server's own tests (server/core/src/inputs.rs), so both sides agree.
describe('account', () => {
  it('accepts slugs, trimming and lowercasing like the server', () => {
    for (const ok of ['demo', ' Demo-1 ', 'a-b-c', 'abc', 'a'.repeat(32)]) expect(checkAccount(ok), ok).toBeNull();
  });
  it('refuses what the server refuses', () => {
    for (const bad of ['ab', '1abc', 'abc-', 'a_b_c', 'ab--cd', 'abc def', 'a'.repeat(33), 'абв']) {
      expect(checkAccount(bad), bad).toBe('valid.account');
    }
    expect(checkAccount('  ')).toBe('valid.required');
  });
});

describe('login, e-mail, name', () => {
  it('login', () => {
    expect(checkLogin('Ivan.Petrov')).toBeNull();
    expect(checkLogin('ivan@corp')).toBeNull();
    expect(checkLogin('ivan petrov')).toBe('valid.login');
    expect(checkLogin('иван')).toBe('valid.login');
    expect(checkLogin('x'.repeat(65))).toBe('valid.login');
    expect(checkLogin('')).toBe('valid.required');
  });
  it('e-mail needs a domain with a dot', () => {
    expect(checkEmail('a@b.ru')).toBeNull();
    for (const bad of ['a@b', 'ab.ru', 'a@@b.ru', 'a b@c.ru', 'a@.ru', '@b.ru', 'a@b.ru.']) expect(checkEmail(bad), bad).toBe('valid.email');
  });
  it('name is 1–200 characters', () => {
    expect(checkName('Анна')).toBeNull();
    expect(checkName(' ')).toBe('valid.required');
    expect(checkName('я'.repeat(201))).toBe('valid.name');
    expect(checkGroupName('Sales')).toBeNull();
    expect(checkGroupName('')).toBe('valid.required');
    expect(checkGroupName('g'.repeat(100))).toBeNull();
    expect(checkGroupName('g'.repeat(101))).toBe('valid.groupName');
  });
});

describe('password policy', () => {
  it('names the broken rule', () => {
    expect(checkPassword('short')).toBe('valid.passwordShort');
    expect(checkPassword('aaaaabbbbbccccc')).toBe('valid.passwordSimple');
    expect(checkPassword('Password123')).toBe('valid.passwordCommon');
    expect(checkPassword('my-ivanov-pass-42', ['ivanov', 'demo'])).toBe('valid.passwordIdentity');
    expect(checkPassword('x'.repeat(120) + 'abcdefghij')).toBe('valid.passwordLong');
    expect(checkPassword('')).toBe('valid.required');
  });
  it('counts characters, not UTF-16 units', () => {
    expect(checkPassword('пароль-мой')).toBeNull();
    expect(checkPassword('😀😀😀😀😀abcd')).toBe('valid.passwordShort');
  });
  it('ignores identities shorter than 3 characters', () => {
    expect(checkPassword('correct horse battery', ['ab', 'demo'])).toBeNull();
  });
});

describe('validate', () => {
  it('keeps only failed fields', () => {
    expect(validate({ a: null, b: 'valid.required' as const })).toEqual({ b: 'valid.required' });
  });
});
