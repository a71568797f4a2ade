-- Each registered version's alert threshold p*, so that the API can say at what probability an
-- asset's alert opens (the rating matrix bands are multiples of p*) without an MLflow client.
-- Filled by the next registry sync (`train`, or the scorer when the champion moves or starts).
ALTER TABLE model_versions ADD COLUMN threshold double precision;
