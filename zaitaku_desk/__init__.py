"""zaitaku-desk: the consultation desk of a home-care collaboration hub, on LINE and Slack."""

__version__ = "0.1.0"
