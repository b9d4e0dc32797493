-- Due items claimed across processes: a process takes the entries due now with
-- FOR UPDATE SKIP LOCKED and marks them leased to itself until lease_until; the turn that
-- handles one deletes it. When a process dies holding a lease, another takes the entry once the
-- lease has run out: late rather than lost.
ALTER TABLE due ADD COLUMN lease_owner text, ADD COLUMN lease_until timestamptz;
