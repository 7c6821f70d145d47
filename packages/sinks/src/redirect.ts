/**
 * Sinks never follow redirects. fetch would turn a 301/302 POST into a body-less GET (the notification
 * is lost while the sink looks healthy), and would re-send a 307/308 body, routing key included, to
 * wherever `Location` points. A redirect is reported as the configuration problem it is.
 */
export const NO_REDIRECTS = { redirect: 'manual' } as const satisfies RequestInit;

/** The statuses fetch follows; another 3xx (304 Not Modified, 300) is no redirect to configure. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export const isRedirect = (status: number) => REDIRECTS.has(status);

export const REDIRECT_PROBLEM = 'a redirect, not followed: configure the final URL';
