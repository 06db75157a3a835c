"""Market mechanisms: reference prices, price floors, variable tariffs, price models, dumping surveillance."""
