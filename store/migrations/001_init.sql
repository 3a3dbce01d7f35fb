-- Accounts, their deployment keys and feature flags. Plain PostgreSQL: runs on PGlite and on a server.
-- Defaults for sensitivity and TTL live in the store's input schema, not here, so there is one source of truth.

CREATE TABLE accounts (
  account_sid text PRIMARY KEY CHECK (account_sid ~ '^AC[0-9a-f]{32}$'),
  friendly_name text NOT NULL DEFAULT '' CHECK (length(friendly_name) <= 256),
  address_sid text NOT NULL CHECK (address_sid ~ '^AD[0-9a-f]{32}$'),
  -- Exact origins or wildcard subdomains, normalised by the store; empty means any origin.
  allowed_origins text[] NOT NULL DEFAULT '{}',
  fingerprint_sensitivity text NOT NULL CHECK (fingerprint_sensitivity IN ('low', 'medium', 'high')),
  token_ttl_seconds integer NOT NULL CHECK (token_ttl_seconds BETWEEN 60 AND 86400),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Keys are stored only as SHA-256 hashes; the plaintext is shown once, when the key is created.
CREATE TABLE deployment_keys (
  key_id text PRIMARY KEY CHECK (key_id ~ '^DK[0-9a-f]{32}$'),
  account_sid text NOT NULL REFERENCES accounts (account_sid) ON DELETE CASCADE,
  key_hash bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
  -- The first 8 characters, so an operator can tell keys apart without the key.
  key_prefix text NOT NULL CHECK (length(key_prefix) <= 8),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

CREATE INDEX deployment_keys_account_sid_idx ON deployment_keys (account_sid);

CREATE TABLE feature_flags (
  account_sid text NOT NULL REFERENCES accounts (account_sid) ON DELETE CASCADE,
  flag text NOT NULL CHECK (flag ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
  enabled boolean NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_sid, flag)
);
