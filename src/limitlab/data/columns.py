"""Column names that limitlab adds to a user's data, defined once."""

ROW = "_row"  # 1-based row number in the file read (data rows, header excluded)
BAD = "_bad"  # the outcome as 0 (good) / 1 (bad)
REASON = "reason"  # why a row was refused, on every quarantined row
