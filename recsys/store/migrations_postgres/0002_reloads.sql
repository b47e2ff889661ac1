-- Replicas: which artifact build every `liner serve` sharing this database should serve.
-- An operator's ReloadArtifacts on any replica appends a row (and NOTIFYs liner_reload in the
-- same transaction); every other replica loads the announced directory from the shared
-- artifact location, verifying it against its manifest itself. Append-only, like the ledgers:
-- the latest row (by seq) is the build in force.
CREATE TABLE reloads (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    artifact_dir TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    announced_by TEXT NOT NULL DEFAULT '',
    at BIGINT NOT NULL
);
CREATE TRIGGER reloads_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON reloads
FOR EACH STATEMENT EXECUTE FUNCTION liner_append_only('the reload log');
