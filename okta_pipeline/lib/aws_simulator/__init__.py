"""A simulated AWS organization whose CloudTrail follows from the simulated Okta org.

`trail.SimulatedTrail` generates the records; `delivery.deliver` writes them to S3 as CloudTrail
does; `scenarios` holds the cross-source attacks and their truth.
"""
