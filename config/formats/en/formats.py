"""English dates are ISO 8601 (2025-03-07): the coalition staff who work in English come from many
countries, and neither 03/07/2025 nor 07/03/2025 reads the same to all of them. French keeps Django's
French formats (7 mars 2025, 07/03/2025)."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
