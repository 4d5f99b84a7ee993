import { randomBytes } from 'node:crypto';

/**
 * Meta's Graph API errors as the Cloud API answers them: `{error: {message, type, code,
 * error_data: {messaging_product, details}, fbtrace_id}}` with the HTTP status Meta uses. The
 * titles and details are Meta's (shared/reference/whatsapp-cloud-api.md, section 7, and Meta's
 * error-codes page); a code missing here still gets Meta's shape with a generic title.
 */
export interface MetaErrorBody {
  error: {
    message: string;
    type: string;
    code: number;
    error_subcode?: number;
    error_data?: { messaging_product: 'whatsapp'; details: string };
    fbtrace_id: string;
  };
}

interface Known {
  title: string;
  details: string;
  status: number;
  type?: string;
}

export const META_ERRORS: Record<number, Known> = {
  1: { title: 'An unknown error occurred', details: 'Invalid request or possible server error.', status: 500 },
  2: { title: 'Service temporarily unavailable', details: 'Temporary due to downtime or due to being overloaded.', status: 503 },
  4: { title: 'Application request limit reached', details: 'The app has reached its API call rate limit.', status: 400 },
  10: { title: 'Application does not have permission for this action', details: 'Permission is either not granted or has been removed.', status: 403 },
  100: { title: 'Invalid parameter', details: 'The request included one or more unsupported or misspelled parameters.', status: 400 },
  190: { title: 'Invalid OAuth access token - Cannot parse access token', details: 'Your access token has expired or is invalid.', status: 401 },
  200: { title: 'Permissions error', details: 'Permission is either not granted or has been removed.', status: 403 },
  368: { title: 'Temporarily blocked for policies violations', details: 'The WhatsApp Business Account is restricted or disabled for violating a platform policy.', status: 400 },
  2500: { title: 'An active access token must be used to query information about the current user.', details: 'No access token was sent.', status: 400 },
  80007: { title: 'Rate limit issues', details: 'The WhatsApp Business Account has reached its rate limit.', status: 400 },
  130429: { title: 'Rate limit hit', details: 'Cloud API message throughput has been reached.', status: 400 },
  130472: { title: "User's number is part of an experiment", details: "Message was not sent as part of an experiment.", status: 400 },
  131000: { title: 'Something went wrong', details: 'Message failed to send due to an unknown error.', status: 500 },
  131005: { title: 'Access denied', details: 'Permission is either not granted or has been removed.', status: 403 },
  131008: { title: 'Required parameter is missing', details: 'The request is missing a required parameter.', status: 400 },
  131009: { title: 'Parameter value is not valid', details: 'One or more parameter values are invalid.', status: 400 },
  131016: { title: 'Service unavailable', details: 'A service is temporarily unavailable.', status: 503 },
  131021: { title: 'Recipient cannot be sender', details: 'Sender and recipient phone number is the same.', status: 400 },
  131026: { title: 'Message undeliverable', details: 'Unable to deliver message: the recipient is not on WhatsApp, has not accepted the terms, or uses an old client.', status: 400 },
  131031: { title: 'Account has been locked', details: 'The WhatsApp Business Account is restricted or disabled for violating a platform policy.', status: 400 },
  131042: { title: 'Business eligibility payment issue', details: 'There was an error related to your payment method.', status: 400 },
  131045: { title: 'Incorrect certificate', details: 'Message failed to send due to a phone number registration error.', status: 400 },
  131047: {
    title: 'Re-engagement message',
    details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
    status: 400,
  },
  131048: { title: 'Spam rate limit hit', details: 'Message failed to send because there are restrictions on how many messages can be sent from this phone number.', status: 400 },
  131049: { title: 'This message was not delivered to maintain healthy ecosystem engagement.', details: 'Meta chose not to deliver this message.', status: 400 },
  131050: { title: 'User has stopped marketing messages', details: 'The recipient has chosen to stop receiving marketing messages from this business.', status: 400 },
  131051: { title: 'Unsupported message type', details: 'Message type is not currently supported.', status: 400 },
  131052: { title: 'Media download error', details: "Unable to download the media sent by the user.", status: 400 },
  131053: { title: 'Media upload error', details: 'Unable to upload the media used in the message.', status: 400 },
  131056: {
    title: '(Business Account, Consumer Account) pair rate limit hit',
    details: 'Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.',
    status: 400,
  },
  131057: { title: 'Account in maintenance mode', details: 'Business Account is in maintenance mode (for example, a throughput upgrade).', status: 503 },
  132000: { title: 'Number of parameters does not match the expected number of params', details: 'The number of variable parameter values does not match the number of variables defined in the template.', status: 400 },
  132001: { title: 'Template name does not exist in the translation', details: 'The template does not exist in the specified language or it has not been approved.', status: 400 },
  132005: { title: 'Translated text too long', details: 'Translated text is too long.', status: 400 },
  132007: { title: 'Template Format Character Policy Violated', details: 'Template content violates a WhatsApp policy.', status: 400 },
  132012: { title: 'Template Parameter Format Mismatch', details: 'Variable parameter values are formatted incorrectly.', status: 400 },
  132015: { title: 'Template is Paused', details: 'The template is paused due to low quality.', status: 400 },
  132016: { title: 'Template is Disabled', details: 'The template has been paused too many times due to low quality and is now permanently disabled.', status: 400 },
  132018: { title: 'There was an issue with the parameters in your template.', details: 'One or more parameter values are invalid.', status: 400 },
  133010: { title: 'Phone number Not Registered', details: 'The phone number is not registered on the WhatsApp Business Platform.', status: 400 },
};

export const fbtraceId = () => `A${randomBytes(11).toString('base64url')}`;

/** A Graph API error: thrown inside the simulator, rendered by its router in Meta's shape. */
export class MetaError extends Error {
  readonly code: number;
  readonly status: number;
  readonly title: string;
  readonly details: string;
  readonly type: string;
  readonly subcode: number | undefined;

  constructor(code: number, opts: { message?: string; details?: string; status?: number; type?: string; subcode?: number } = {}) {
    const known = META_ERRORS[code];
    const title = opts.message ?? known?.title ?? 'Error';
    super(`(#${code}) ${title}`);
    this.name = 'MetaError';
    this.code = code;
    this.title = title;
    this.details = opts.details ?? known?.details ?? title;
    this.status = opts.status ?? known?.status ?? 400;
    this.type = opts.type ?? known?.type ?? 'OAuthException';
    this.subcode = opts.subcode;
  }

  /** The body Meta answers with: the message carries the code as "(#131047) ..." like Meta's. */
  toBody(): MetaErrorBody {
    return {
      error: {
        message: this.message,
        type: this.type,
        code: this.code,
        ...(this.subcode === undefined ? {} : { error_subcode: this.subcode }),
        error_data: { messaging_product: 'whatsapp', details: this.details },
        fbtrace_id: fbtraceId(),
      },
    };
  }

  /** The same error as it appears in a `failed` status webhook (`statuses[].errors[]`). */
  toStatusError() {
    return {
      code: this.code,
      title: this.title,
      message: this.title,
      error_data: { details: this.details },
      href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
    };
  }
}

/** Graph's answer to an object id it does not know (or that the token may not see). */
export function unsupported(method: 'get' | 'post' | 'delete', id: string): MetaError {
  return new MetaError(100, {
    type: 'GraphMethodException',
    subcode: 33,
    message: `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api`,
    details: `Unsupported ${method} request.`,
  });
}
