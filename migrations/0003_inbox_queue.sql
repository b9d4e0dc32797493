-- Each inbox entry's queue (the person or group whose events are handled in order), so a
-- process about to handle one event can find that person's earlier events another process
-- took in and has not handled yet, and handle them first (order across processes). An
-- identifier like `telegram:123`, never anything a person wrote; entries kept before this
-- migration have none and are handled as before.
ALTER TABLE inbox ADD COLUMN queue text;
CREATE INDEX inbox_by_queue ON inbox (queue, key);
