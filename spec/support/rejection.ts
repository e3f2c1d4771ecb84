import { expect } from 'chai';
import { AuthError } from '../../lib/index.js';

/** The error a promise rejects with; fails the spec when it resolves instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** The `AuthError` a promise rejects with; fails the spec on a resolution or any other error. */
export async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const error = await rejectionOf(promise);
  expect(error).to.be.instanceOf(AuthError);
  return error as AuthError;
}
