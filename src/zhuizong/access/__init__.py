"""Who may do what (roles) and who may see what (scopes)."""
