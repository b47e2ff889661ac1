-- The probability that the policy served exactly this slate (in its order), written when
-- the slate is logged: 1 for a deterministic slate, below 1 when the variant explores, NULL
-- when unknown (slates logged before this column, or trimmed after the draw). Off-policy
-- evaluation divides by it; per-position probabilities are in slate_items.propensity.
ALTER TABLE slates ADD COLUMN propensity REAL;
