"""Accounts: people, organisations and areas, passwords, two-step sign-in, throttles, moves
between organisations, and who manages whom."""
