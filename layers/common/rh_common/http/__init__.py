"""HTTP: a result's status code, the merchant API's route pattern (Powertools), JSON responses."""
