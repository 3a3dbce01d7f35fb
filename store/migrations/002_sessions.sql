-- Token sessions: how long an account's sessions may last, which tokens were refreshed (refresh rotation with
-- reuse detection, RFC 9700 §4.14.2) and which were revoked. SAS reads the last two on every validate and
-- refresh; issuance never touches them. Every row carries expires_at, the moment no token it covers can still be
-- valid, and SAS prunes the rows past it.

-- NULL: the service default (SAS's SESSION_MAX_AGE_S).
ALTER TABLE accounts ADD COLUMN session_max_age_seconds integer
  CHECK (session_max_age_seconds BETWEEN 60 AND 31536000);

-- One row per token that was refreshed: the primary key is what makes a second refresh of the same token lose.
CREATE TABLE token_refreshes (
  parent_jti uuid PRIMARY KEY,
  session_id uuid NOT NULL,
  -- SHA-256 of the refreshing browser's fingerprint (of '' when unbound): a retry must come from the same one.
  requester bytea NOT NULL CHECK (octet_length(requester) = 32),
  -- The successor token, AES-256-GCM under a key derived from the parent token: useless without the parent.
  successor bytea NOT NULL,
  refreshed_at timestamptz NOT NULL,
  -- The parent token's expiry: after it the parent cannot be presented again.
  expires_at timestamptz NOT NULL
);

CREATE INDEX token_refreshes_expires_at_idx ON token_refreshes (expires_at);

-- kind 'session' (subject: sid claim) and 'identity' (identity claim) cover every token of theirs;
-- kind 'account' (subject: account SID) covers the account's tokens issued at or before issued_before.
CREATE TABLE token_revocations (
  kind text NOT NULL CHECK (kind IN ('session', 'identity', 'account')),
  subject text NOT NULL CHECK (length(subject) <= 64),
  issued_before timestamptz CHECK ((kind = 'account') = (issued_before IS NOT NULL)),
  revoked_at timestamptz NOT NULL,
  -- The latest expiry of a token it covers: revoked_at plus the longest token lifetime.
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (kind, subject)
);

CREATE INDEX token_revocations_expires_at_idx ON token_revocations (expires_at);
