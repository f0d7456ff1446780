"""splitcost: where should a neural network run, and what does each choice cost?"""
