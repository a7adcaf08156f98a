"""Documents sent out: Peppol e-invoices (UBL 2.1) and their validation."""
